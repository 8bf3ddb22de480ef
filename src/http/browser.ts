// What browsers need: security headers (CSP), CORS for the allowed origins with every method the API uses, and
// /favicon.ico.
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

/** Every method a route of the API answers; a browser app on an allowed origin may send each of them. */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

// 32x32 PNG in an ICO container: a white "T" on the blue tile.
const FAVICON = Buffer.from(
  'AAABAAEAICAAAAEAIAA5AQAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAgAAAAIAgDAAAARKSKxgAAAEVQTFRFTGlxJWPqJWLrJGLrJWPqJGLrJWPr' +
    'JGPqImjnJGTpJmblJWLrJGHmJWPrJWPsJWLqJGPqJGLrJGPrJGPrJGPr////JWPrEbaBlwAAABV0Uk5TAPGCz/7zzvIWVBSBFc1S8FWEg/TQdyuI' +
    '/QAAAAlwSFlzAAALEwAACxMBAJqcGAAAAHlJREFUOMvtk0sOgCAMBR/4KaiooPb+R/W3MFEpbowbZ9uBpEkHAIzPBr4wlMFgoyeOQHab5xwlXwxD' +
    'LKAaeBbRGGWhRCELBE7wXJhOfCEcmrjFL7wokHwvClnqaIMs1IlwugqwUnrtGqdV0fftnnej3U0+hauX/zEDLhVS66GHBcYAAAAASUVORK5CYII=',
  'base64',
);

export async function registerBrowserPolicy(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        workerSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        // Over plain HTTP this would send every asset of /docs and /redoc to https:// and blank the page on any
        // host but localhost; it is added below for requests that came over HTTPS.
        upgradeInsecureRequests: null,
      },
    },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    frameguard: { action: 'deny' },
  });
  app.addHook('onSend', async (request, reply) => {
    const policy = reply.getHeader('content-security-policy');
    // request.protocol honours X-Forwarded-Proto when TRUST_PROXY is set.
    if (request.protocol === 'https' && typeof policy === 'string' && policy.includes("default-src 'self'")) {
      reply.header('content-security-policy', `${policy};upgrade-insecure-requests`);
    }
  });

  await app.register(cors, {
    origin: config.allowedOrigins.includes('*') ? true : config.allowedOrigins,
    credentials: true,
    methods: CORS_METHODS,
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
  });

  app.get('/favicon.ico', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('image/x-icon').header('cache-control', 'public, max-age=86400').send(FAVICON),
  );
}
