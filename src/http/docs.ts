// OpenAPI generated from the route schemas: /openapi.json, Swagger UI at /docs, ReDoc at /redoc (local files only).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { API_TAGS, refineOpenApiDocument } from './openapi-document.js';

const require = createRequire(import.meta.url);

// ReDoc's sidebar loads a logo from Redocly's CDN, which the CSP refuses; an empty data URL fails to load
// and ReDoc then leaves the image out, so the page makes no request outside this server.
const REDOC_CDN_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';

const REDOC_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>TMA server API</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body>
</html>`;

export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'TMA server API',
        description:
          'Team messaging: conversations, messages, receipts, realtime catch-up. Every response uses the envelope ' +
          '`{success, data, error}`; lists add `pagination`. Authenticate with `Authorization: Bearer <access token>`.',
        version,
        contact: { name: 'TMA server' },
      },
      servers: [{ url: '/', description: 'This server' }],
      tags: API_TAGS,
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      security: [{ bearerAuth: [] }],
    },
    // Schemas with an `$id` (Message, Conversation, User, ...) become components under that name.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    // Public routes carry no security requirement in the spec.
    transform: ({ schema, url, route }) => {
      const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
      const transformed = { ...(schema ?? {}) } as Record<string, unknown>;
      if (isPublic) transformed.security = [];
      return { schema: transformed, url };
    },
    transformObject: (document) =>
      'openapiObject' in document ? refineOpenApiDocument(document.openapiObject) : document.swaggerObject,
  });
  // The documentation pages are public.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: false, uiConfig: { deepLinking: true } });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  const redocBundle = require.resolve('redoc/bundles/redoc.standalone.js');
  let redocScript: Buffer | undefined;
  app.get('/redoc', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(REDOC_PAGE),
  );
  app.get(
    '/redoc/redoc.standalone.js',
    { config: { public: true }, schema: { hide: true } },
    async (_request, reply) => {
      redocScript ??= Buffer.from((await readFile(redocBundle, 'utf8')).replace(REDOC_CDN_LOGO, 'data:,'));
      return reply
        .type('application/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .send(redocScript);
    },
  );
}
