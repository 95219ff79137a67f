/**
 * The OpenAPI document is generated from the same route declarations and
 * zod schemas that validate requests: every route is in it, every path
 * parameter is declared, every `$ref` resolves, and the document is well
 * formed OpenAPI 3.0 in the parts clients generate code from.
 */
import { describe, expect, it } from 'vitest';
import { openApiDocument, openApiPath } from '../../src/http/openapi.js';
import { apiRoutes, type ApiDeps } from '../../src/http/routes/index.js';

// The handlers are not called here: the declarations are all the document needs.
const routes = apiRoutes({} as ApiDeps);
const doc = openApiDocument(routes, '1.2.3') as any;

function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refsIn(item, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push(inner);
      else refsIn(inner, found);
    }
  }
  return found;
}

function resolve(ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
  Object.entries(item).filter(([method]) => METHODS.includes(method)).map(([method, operation]) => ({ path, method, operation })),
);

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.0 with info, a bearer security scheme and the routes as paths', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: '1.2.3' });
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(operations.length).toBe(routes.length);
  });

  it('has every route, under its OpenAPI path and method', () => {
    for (const route of routes) {
      expect(doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()], `${route.method} ${route.url}`).toBeDefined();
    }
    expect(Object.keys(doc.paths)).toContain('/api/v1/lists/{list}/members/{address}/preferences');
  });

  it('has the bulk decision, re-enable, owners, moderators and requeue routes, with the bodies they validate', () => {
    const expected: [string, string][] = [
      ['post', '/api/v1/lists/{list}/held/bulk'],
      ['post', '/api/v1/lists/{list}/bounces/{address}/enable'],
      ['get', '/api/v1/lists/{list}/owners'],
      ['post', '/api/v1/lists/{list}/owners'],
      ['delete', '/api/v1/lists/{list}/owners/{address}'],
      ['get', '/api/v1/lists/{list}/moderators'],
      ['post', '/api/v1/lists/{list}/moderators'],
      ['delete', '/api/v1/lists/{list}/moderators/{address}'],
      ['post', '/api/v1/queues/{queue}/requeue'],
    ];
    for (const [method, path] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const bulk = doc.paths['/api/v1/lists/{list}/held/bulk'].post;
    expect(bulk['x-switchyard-access']).toBe('moderator');
    expect(bulk.requestBody.required).toBe(true);
    expect(bulk.requestBody.content['application/json'].schema).toMatchObject({
      required: ['ids', 'decision'],
      properties: { ids: { type: 'array', minItems: 1, maxItems: 1000 }, decision: { enum: ['approve', 'reject', 'discard'] } },
    });
    const requeue = doc.paths['/api/v1/queues/{queue}/requeue'].post;
    expect(requeue['x-switchyard-access']).toBe('admin');
    expect(requeue.requestBody.required).toBe(false);
    expect(requeue.responses['200'].content['application/json'].schema.properties.skipped.items.required).toEqual(['id', 'code', 'reason']);
    expect(doc.paths['/api/v1/lists/{list}/owners'].post['x-switchyard-access']).toBe('owner');
    expect(doc.paths['/api/v1/lists/{list}/bounces/{address}/enable'].post['x-switchyard-access']).toBe('owner');
  });

  it('declares every path parameter, required, and only those', () => {
    for (const { path, method, operation } of operations) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters as { name: string; in: string; required: boolean }[]).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual([...inPath].sort());
      for (const p of declared) expect(p.required).toBe(true);
    }
  });

  it('resolves every $ref, and every component is an object schema', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(routes.length);
    for (const ref of new Set(refs)) expect(resolve(ref), ref).toEqual(expect.objectContaining({ type: 'object' }));
    expect(refsIn(doc.components.schemas)).toEqual([]);
  });

  it('gives each operation a unique id, a tag, a JSON success answer and the JSON error answers; auth routes name 401 and 403', () => {
    const ids = operations.map(({ operation }) => operation.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, operation } of operations) {
      const where = `${method} ${path}`;
      expect(operation.tags, where).toHaveLength(1);
      const success = Object.keys(operation.responses).filter((code) => code.startsWith('2'));
      expect(success, where).toHaveLength(1);
      // JSON, but for the member import's stream of JSON lines.
      const answer = operation.responses[success[0]!].content;
      expect((path.endsWith('/members/import') ? answer['application/x-ndjson'] : answer['application/json']).schema, where).toBeDefined();
      if (operation['x-switchyard-access'] === 'public') {
        expect(operation.security, where).toEqual([]);
      } else {
        for (const code of ['401', '403', '404', '422']) expect(operation.responses[code].content['application/json'].schema, `${where} ${code}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
  });

  it('documents request bodies and queries from the validating schemas (limits and enums included)', () => {
    const page = doc.paths['/api/v1/lists/{list}/members'].get.parameters as { name: string; in: string; schema: Record<string, unknown> }[];
    expect(page.find((p) => p.name === 'limit')).toMatchObject({ in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } });
    expect(page.find((p) => p.name === 'role')?.schema).toMatchObject({ enum: ['member', 'owner', 'moderator'] });
    const create = doc.paths['/api/v1/lists'].post.requestBody;
    expect(create.required).toBe(true);
    expect(create.content['application/json'].schema).toMatchObject({ type: 'object', required: ['address'], additionalProperties: false });
    expect(doc.paths['/api/v1/lists/{list}'].patch.parameters).toContainEqual(expect.objectContaining({ name: 'If-Match', in: 'header' }));
  });
});
