// Ids are UUID v7 (time-ordered), generated in the app so PostgreSQL 15 and PGlite behave the same.
import { uuidv7 } from 'uuidv7';

export function newId(): string {
  return uuidv7();
}
