/**
 * The OpenAPI 3 document of the REST API, served at `/api/openapi.json`,
 * generated from the route declarations (route.ts) and their zod schemas:
 * the schemas that validate a request are the ones documented. Named
 * schemas (schemas.ts NAMED_SCHEMAS) are components referenced by `$ref`.
 */
import { z } from 'zod';
import type { RouteSpec } from './route.js';
import { errorSchema, NAMED_SCHEMAS } from './schemas.js';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const named = NAMED_SCHEMAS.get(schema);
  if (named !== undefined) return { $ref: `#/components/schemas/${named}` };
  // Schemas nested in a named one's array or object are written out in full: simple, and always resolvable.
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/api/v1/lists/:list` as OpenAPI writes it: `/api/v1/lists/{list}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z]\w*)/g, '{$1}');
}

const ERROR_ANSWERS: Record<string, string> = {
  '401': 'no token, or one not valid (SY_API_UNAUTHORIZED)',
  '403': "the token's role or list does not allow this (SY_API_FORBIDDEN)",
  '404': 'no such list, member, post or request (SY_LIST_UNKNOWN, ...)',
  '409': 'conflicts with what is there: exists already, or a stale If-Match (SY_API_STALE)',
  '413': 'the body is larger than the route takes (SY_API_TOO_LARGE)',
  '415': 'the body is not of the media type the route takes (SY_API_BAD_REQUEST)',
  '422': 'a value that is not acceptable (SY_API_INVALID, SY_LIST_SETTING, SY_ADDRESS_INVALID, ...)',
  '429': 'too many requests from this address (SY_API_RATE_LIMITED)',
  '503': 'the store is busy or the master does not answer: try again (temporary)',
};

function parameters(spec: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  const add = (schema: z.ZodType | undefined, where: 'path' | 'query'): void => {
    if (schema === undefined) return;
    const object = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      const { description, ...rest } = property;
      out.push({ name, in: where, required: where === 'path' || (object.required ?? []).includes(name), schema: rest, ...(description === undefined ? {} : { description }) });
    }
  };
  add(spec.params, 'path');
  add(spec.query, 'query');
  for (const header of spec.headers ?? []) out.push({ name: header.name, in: 'header', required: header.required ?? false, description: header.description, schema: { type: 'string' } });
  return out;
}

export function openApiDocument(routes: readonly RouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of routes) {
    const responses: Record<string, JsonSchema> = {
      [String(spec.response.status)]: { description: spec.response.description, content: { [spec.response.type ?? 'application/json']: { schema: jsonSchema(spec.response.schema, 'output') } } },
    };
    const errors = spec.access === 'public' ? ['429', '503'] : ['401', '403', '404', '409', ...(spec.bodyLimit === undefined ? [] : ['413']), ...(spec.bodyType === undefined ? [] : ['415']), '422', '503'];
    for (const status of errors) responses[status] = { description: ERROR_ANSWERS[status], content: { 'application/json': { schema: jsonSchema(errorSchema, 'output') } } };
    const operation: JsonSchema = {
      operationId: `${spec.method.toLowerCase()}${openApiPath(spec.url).replace(/^\/api\/v1/, '').replace(/[{}]/g, '').split(/[/-]/).map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}`,
      summary: spec.summary,
      tags: [spec.tag],
      'x-switchyard-access': spec.access,
      parameters: parameters(spec),
      responses,
      ...(spec.access === 'public' ? { security: [] } : {}),
    };
    if (spec.body !== undefined) {
      operation.requestBody = { required: !spec.body.safeParse(undefined).success, content: { [spec.bodyType ?? 'application/json']: { schema: jsonSchema(spec.body, 'input') } } };
    }
    (paths[openApiPath(spec.url)] ??= {})[spec.method.toLowerCase()] = operation;
  }
  const schemas: Record<string, JsonSchema> = {};
  for (const [schema, name] of NAMED_SCHEMAS) {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' }) as JsonSchema;
    schemas[name] = rest;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'switchyard REST API',
      version,
      description: 'Lists, members, held posts, membership requests, bounces and the status of a switchyard site. Every error answer carries a stable SY_* code (README, "Errors").',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token from `switchyard tokens create`' } },
      schemas,
    },
  };
}
