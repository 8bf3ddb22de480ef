// OpenAPI generated from the route schemas: /openapi.json, Swagger UI at /docs, ReDoc at /redoc (local files only).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);

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
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
      security: [{ bearerAuth: [] }],
    },
    // Public routes carry no security requirement in the spec.
    transform: ({ schema, url, route }) => {
      const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
      const transformed = { ...(schema ?? {}) } as Record<string, unknown>;
      if (isPublic) transformed.security = [];
      return { schema: transformed, url };
    },
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
      redocScript ??= await readFile(redocBundle);
      return reply
        .type('application/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .send(redocScript);
    },
  );
}
