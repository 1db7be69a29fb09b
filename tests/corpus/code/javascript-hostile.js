const q = `TRUNCATE ${t} ${`nested ${`deeper ${x}`}`}`;
beforeEach(async () => { await db.query('DELETE FROM users'); await knex.raw("DROP TABLE x") });
/* unterminated comment
describe('x', () => { it('y', () => { sequelize.sync({ force: true }); }); });
const re = /[/]+/g; const s = 'unterminated
function f() { return (((((((((((a))))))))))); }
