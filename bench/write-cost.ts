// `npx tsx bench/write-cost.ts`: what one small loopback TCP write costs the writer on this machine, paced (the
// reader idle between writes, as a chat delivery usually finds it) and back to back. Where the first is many
// times the second, the server's CPU per delivery at moderate rates is mostly the kernel waking readers.
import { fork } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const FRAME = Buffer.alloc(200, 1);

if (process.argv[2] === 'sink') {
  const server = createServer((socket) => socket.on('data', () => undefined));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address && typeof address === 'object') process.send?.(address.port);
  });
} else {
  const child = fork(fileURLToPath(import.meta.url), ['sink'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(Number(p))));
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setNoDelay(true);
  const pause = (ms: number) =>
    new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

  async function measure(label: string, writes: number, gapMs: number): Promise<void> {
    const before = process.cpuUsage();
    for (let i = 0; i < writes; i++) {
      socket.write(FRAME);
      if (gapMs > 0 || i % 50 === 0) await pause(gapMs);
    }
    const used = process.cpuUsage(before);
    const per = (us: number) => (us / writes).toFixed(1).padStart(6);
    console.log(`| ${label} | ${writes} | ${per(used.user + used.system)} | ${per(used.system)} |`);
  }

  console.log('| writes of 200 bytes | count | writer CPU µs/write | of which kernel |');
  console.log('|---|---:|---:|---:|');
  await measure('one per ms (reader idle in between)', 3000, 1);
  await measure('back to back', 100_000, 0);
  socket.destroy();
  child.kill();
}
