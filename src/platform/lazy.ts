// Heavy libraries that only some requests need (HTML scraping, image and audio decoding, S3, SMTP, Web Push,
// password scoring) are loaded on first use, so that starting the server, and every test that starts an app,
// does not pay for them.

/** A memoised loader: the first call starts `load`, later calls share its result; a failure is not kept. */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
