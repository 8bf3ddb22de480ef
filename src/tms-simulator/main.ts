// `npm run tms:dev`: runs the TMS simulator standalone for local development against AUTH_MODE=tms.
import { DEFAULT_SIM_SECRET, startTmsSimulator } from './simulator.js';

if (process.env.NODE_ENV === 'production') {
  process.stderr.write(
    'The TMS simulator mints tokens for anyone: it refuses to run with NODE_ENV=production.\n',
  );
  process.exit(1);
}

const port = Number(process.env.TMS_SIM_PORT ?? 4100);
const sim = await startTmsSimulator({
  port,
  // 0.0.0.0 in a container (compose.yaml); loopback otherwise.
  host: process.env.TMS_SIM_HOST,
  jwtSecret: process.env.TMS_SIM_JWT_SECRET ?? DEFAULT_SIM_SECRET,
  issuer: process.env.TMS_SIM_ISSUER,
  audience: process.env.TMS_SIM_AUDIENCE,
  apiKey: process.env.TMS_SIM_API_KEY,
  webhookSecret: process.env.TMS_SIM_WEBHOOK_SECRET,
});

const users = [...sim.users.values()].map((u) => `  ${u.id}  ${u.username} (${u.role})`).join('\n');
process.stdout.write(`TMS simulator listening on ${sim.url}  (development only)

Seeded users:
${users}

Run TMA against it:
  AUTH_MODE=tms TMS_API_URL=${sim.url} JWT_SECRET=${sim.jwtSecret} \\
  TMS_WEBHOOK_SECRET=${sim.webhookSecret} TMS_LOGIN_URL=${sim.url}/login npm start
  (the web client's "Sign in with TMS" opens ${sim.url}/login: pick a person, continue)
  (or RS256/ES256: TMS_JWKS_URL=${sim.jwksUrl})

Mint a token (alg HS256, RS256 or ES256):
  curl -s -X POST ${sim.url}/dev/tokens -H 'content-type: application/json' -d '{"user_id":"tms-u-1","alg":"HS256"}'
Rotate the JWKS keys:   curl -s -X POST ${sim.url}/dev/keys/rotate
Edit a user:            curl -s -X PATCH ${sim.url}/dev/users/tms-u-2 -H 'content-type: application/json' -d '{"display_name":"Bob B."}'
Send a signed webhook:  curl -s -X POST ${sim.url}/dev/webhooks -H 'content-type: application/json' \\
  -d '{"target_url":"http://localhost:8000/api/v1/webhooks/tms","type":"user.updated","data":{"user_id":"tms-u-2"}}'
`);

const shutdown = async () => {
  await sim.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
