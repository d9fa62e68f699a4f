// Closes the shared Prisma pool after each test file so jest workers exit cleanly.
import { closeTestPrisma } from './fixtures';

afterAll(async () => {
  await closeTestPrisma();
});
