// The in-memory presence store: first connection makes a user online, the last one offline.
import { MemoryPresence } from '../../src/platform/presence.js';
import { presenceContract } from '../helpers/presence-contract.js';

presenceContract('MemoryPresence', () => new MemoryPresence());
