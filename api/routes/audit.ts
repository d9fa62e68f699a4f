// Placeholder: being written (issue 5).
import type { FastifyPluginAsync } from 'fastify';

const routes: FastifyPluginAsync = async () => undefined;
export default routes;
