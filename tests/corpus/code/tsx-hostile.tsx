const C = () => <div onClick={() => db.query('DELETE FROM t')}>{`TRUNCATE ${t}`}<span>{<b>{<i/>}</b>}</span></div>;
beforeEach(() => { execSync('psql -c "DROP DATABASE app"'); });
const bad = <div><span></div>;
