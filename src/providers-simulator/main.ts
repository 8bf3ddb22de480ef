// `npm run providers:dev`: runs the Twilio/SendGrid-compatible provider simulator standalone (docs/channels.md).
import { startProviderSimulator } from './simulator.js';

if (process.env.NODE_ENV === 'production') {
  process.stderr.write(
    'The provider simulator accepts any message: it refuses to run with NODE_ENV=production.\n',
  );
  process.exit(1);
}

const port = Number(process.env.PROVIDERS_SIM_PORT ?? 4200);
const tma = (process.env.PROVIDERS_SIM_TMA_URL ?? 'http://localhost:8000').replace(/\/+$/, '');
const sim = await startProviderSimulator({
  port,
  host: process.env.PROVIDERS_SIM_HOST,
  autoCallbacks: process.env.PROVIDERS_SIM_AUTO_CALLBACKS !== 'false',
  eventsUrl: `${tma}/api/v1/webhooks/sendgrid/events`,
  callbackDelayMs: 500,
});

const providers = JSON.stringify([
  {
    name: 'sim-sms',
    kind: 'twilio',
    channels: ['sms', 'mms'],
    base_url: sim.url,
    account_sid: sim.accountSid,
    auth_token: sim.authToken,
  },
  {
    name: 'sim-email',
    kind: 'sendgrid',
    channels: ['email'],
    base_url: sim.url,
    api_key: sim.apiKey,
    event_public_key: sim.eventPublicKey,
    inbound_token: 'sim-inbound-token',
  },
]);
process.stdout.write(`Provider simulator listening on ${sim.url}  (development only)

Run TMA against it:
  PUBLIC_URL=${tma} CHANNEL_PROVIDERS='${providers}' npm start

Faults:         curl -s -X POST ${sim.url}/dev/faults -H 'content-type: application/json' -d '{"down":true}'
                (also latencyMs, errorRate 0..1, rateLimit {"retryAfterSeconds":2,"count":3}; {"down":false} to recover)
Sent messages:  curl -s ${sim.url}/dev/messages
Status:         curl -s -X POST ${sim.url}/dev/status -H 'content-type: application/json' -d '{"sid":"SM...","status":"delivered"}'
Inbound SMS:    curl -s -X POST ${sim.url}/dev/inbound/sms -H 'content-type: application/json' \\
  -d '{"target_url":"${tma}/api/v1/webhooks/twilio/sms","from":"+15551230001","to":"+15550001111","body":"Hi","media":true}'
Inbound email:  curl -s -X POST ${sim.url}/dev/inbound/email -H 'content-type: application/json' \\
  -d '{"target_url":"${tma}/api/v1/webhooks/sendgrid/inbound?token=sim-inbound-token","from":"Ann <ann@example.com>","to":"support@example.com","subject":"Hello","text":"Hi"}'
`);

const shutdown = async () => {
  await sim.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
