beforeAll(async (): Promise<void> => {
  if (process.env.NODE_ENV !== 'test') { throw new Error('no'); }
  await prisma.$executeRawUnsafe(`TRUNCATE TABLE "User" CASCADE;`);
  await dataSource.synchronize(true);
});
type A<T> = T extends (infer U)[] ? A<U> : T;
let x: Array<Array<Array<Array<Array<number>>>>> = <any>y;
enum E { A = 'DELETE FROM t' }
