// Request validation with two Ajv instances: query strings and path params arrive as
// text and are coerced ("?page=2" → 2); JSON bodies are not, so a money amount sent as
// a JSON number (a binary float) is refused instead of silently becoming a string.
import Ajv, { type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const base: Options = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false };

export default fp(async function validation(fastify: FastifyInstance) {
  const coercing = addFormats(new Ajv({ ...base, coerceTypes: 'array' }));
  const strict = addFormats(new Ajv({ ...base, coerceTypes: false }));
  fastify.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
});
