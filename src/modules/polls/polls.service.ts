// Polls: a poll is a `poll` message plus its options; votes replace the caller's previous ones, closed or expired
// polls refuse votes (409 poll_closed), anonymous polls never reveal voters, each change is a seq'd poll.updated.
import type { Kysely, Transaction } from 'kysely';
import { newId } from '../../db/ids.js';
import type { DB } from '../../db/schema.js';
import { ConflictError, NotFoundError, UnprocessableError, ValidationError } from '../../errors.js';
import type { EventBus } from '../../events/bus.js';
import type { MessageView } from '../../events/domain-events.js';
import type { Actor } from '../../identity/actor.js';
import { type AccessService, type Membership, requireAuthorOrAdminOf } from '../access/access.service.js';
import { appendConversationEvent } from '../conversations/conversation-events.js';
import { appendMessage } from '../messages/append-message.js';
import type { MessagesService } from '../messages/messages.service.js';
import { type PollRow, PollsRepository } from './polls.repository.js';
import type { CreatePollBody, PollView } from './polls.schemas.js';

export interface PollsDeps {
  db: Kysely<DB>;
  bus: EventBus;
}

const MAX_POLL_LIFETIME_MS = 366 * 86_400_000;

const isClosed = (poll: PollRow, now = Date.now()): boolean =>
  poll.closed_at !== null || (poll.expires_at !== null && poll.expires_at.getTime() <= now);

export class PollsService {
  private readonly repo: PollsRepository;

  constructor(
    private readonly deps: PollsDeps,
    private readonly access: AccessService,
    private readonly messages: MessagesService,
  ) {
    this.repo = new PollsRepository(deps.db);
  }

  async create(
    actor: Actor,
    conversationId: string,
    input: CreatePollBody,
  ): Promise<{ message: MessageView; poll: PollView; created: boolean }> {
    await this.access.requireWritable(actor.userId, conversationId);
    if (input.client_id) {
      const original = await this.messages.repo.findByClientId(actor.userId, input.client_id);
      const poll = original && (await this.repo.findByMessageId(original.id));
      if (original && poll && original.conversation_id === conversationId) {
        return { ...(await this.load(actor, poll)), created: false };
      }
      if (original)
        throw new ConflictError('client_id was already used', 'client_id_conflict', { field: 'client_id' });
    }
    const question = input.question.trim();
    const options = input.options.map((o) => o.trim());
    if (question.length === 0) throw new ValidationError('question must not be blank', { field: 'question' });
    if (options.some((o) => o.length === 0))
      throw new ValidationError('options must not be blank', { field: 'options' });
    if (new Set(options.map((o) => o.toLowerCase())).size !== options.length) {
      throw new ValidationError('options must be different from each other', { field: 'options' });
    }
    const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
    if (
      expiresAt &&
      (expiresAt.getTime() <= Date.now() || expiresAt.getTime() > Date.now() + MAX_POLL_LIFETIME_MS)
    ) {
      throw new ValidationError('expires_at must be in the future, within a year', { field: 'expires_at' });
    }
    const pollId = newId();
    const message = await this.deps.db.transaction().execute(async (trx) => {
      const row = await appendMessage(trx, {
        conversation_id: conversationId,
        sender_id: actor.userId,
        type: 'poll',
        content: question,
        metadata: { poll_id: pollId },
        client_id: input.client_id ?? null,
      });
      await this.repo.insert(
        {
          id: pollId,
          message_id: row.id,
          conversation_id: conversationId,
          created_by: actor.userId,
          question,
          multiple_choice: input.multiple_choice ?? false,
          anonymous: input.anonymous ?? false,
          expires_at: expiresAt,
        },
        options,
        options.map(() => newId()),
        trx,
      );
      return row;
    });
    const view = (await this.messages.repo.viewById(message.id, actor.userId)) as MessageView;
    this.deps.bus.publish('message.created', { message: view });
    const poll = (await this.repo.findById(pollId)) as PollRow;
    return { message: view, poll: await this.view(actor, poll), created: true };
  }

  async get(actor: Actor, pollId: string): Promise<PollView> {
    return this.view(actor, (await this.visiblePoll(actor, pollId)).poll);
  }

  /** Replaces the caller's votes with option_ids (one option unless multiple choice). */
  async vote(actor: Actor, pollId: string, optionIds: string[]): Promise<PollView> {
    const wanted = [...new Set(optionIds)];
    await this.visiblePoll(actor, pollId);
    return this.change(actor, pollId, async (poll, trx) => {
      if (!poll.multiple_choice && wanted.length !== 1) {
        throw new UnprocessableError('This poll takes exactly one option', 'single_choice', {
          field: 'option_ids',
        });
      }
      const valid = new Set(await this.repo.optionIdsOf(poll.id, trx));
      const unknown = wanted.filter((id) => !valid.has(id));
      if (unknown.length > 0) {
        throw new UnprocessableError('Unknown options for this poll', 'invalid_option', {
          option_ids: unknown,
        });
      }
      const mine = await this.repo.myOptionIds(poll.id, actor.userId, trx);
      if (mine.length === wanted.length && mine.every((id) => wanted.includes(id))) return false;
      await this.repo.replaceVotes(poll.id, actor.userId, wanted, trx);
      return true;
    });
  }

  async retract(actor: Actor, pollId: string): Promise<PollView> {
    await this.visiblePoll(actor, pollId);
    return this.change(actor, pollId, async (poll, trx) => {
      if ((await this.repo.myOptionIds(poll.id, actor.userId, trx)).length === 0) return false;
      await this.repo.replaceVotes(poll.id, actor.userId, [], trx);
      return true;
    });
  }

  /** The creator, or an admin of the group, closes the poll; closing a closed poll changes nothing. */
  async close(actor: Actor, pollId: string): Promise<PollView> {
    const { poll, membership } = await this.visiblePoll(actor, pollId);
    requireAuthorOrAdminOf(membership, poll.created_by, {
      message: 'Only the creator or a group admin can close the poll',
      code: 'not_allowed',
    });
    return this.change(
      actor,
      pollId,
      async (locked, trx) => {
        if (locked.closed_at !== null) return false;
        await this.repo.close(locked.id, trx);
        return true;
      },
      { allowClosed: true },
    );
  }

  /** One locked transaction per change: refuse closed polls, apply, append poll.updated, publish after commit. */
  private async change(
    actor: Actor,
    pollId: string,
    apply: (poll: PollRow, trx: Transaction<DB>) => Promise<boolean>,
    options: { allowClosed?: boolean } = {},
  ): Promise<PollView> {
    const result = await this.deps.db.transaction().execute(async (trx) => {
      const poll = await this.repo.lockById(pollId, trx);
      if (!poll) throw new NotFoundError('Poll');
      if (!options.allowClosed && isClosed(poll))
        throw new ConflictError('The poll is closed', 'poll_closed');
      if (!(await apply(poll, trx))) return undefined;
      const seq = await appendConversationEvent(trx, {
        conversation_id: poll.conversation_id,
        type: 'poll.updated',
        // The event log is readable by every member: an anonymous poll must not name its voters there.
        actor_id: poll.anonymous ? null : actor.userId,
        message_id: poll.message_id,
        payload: { poll_id: poll.id },
      });
      return { seq, poll };
    });
    if (result) {
      this.deps.bus.publish('poll.updated', {
        conversation_id: result.poll.conversation_id,
        seq: result.seq,
        poll_id: pollId,
        message_id: result.poll.message_id,
      });
    }
    return this.view(actor, (await this.repo.findById(pollId)) as PollRow);
  }

  /** The poll and the caller's current membership of its conversation; 404 `not_found` otherwise. */
  private async visiblePoll(
    actor: Actor,
    pollId: string,
  ): Promise<{ poll: PollRow; membership: Membership }> {
    const poll = await this.repo.findById(pollId);
    if (!poll) throw new NotFoundError('Poll');
    const membership = await this.access.repo.membership(poll.conversation_id, actor.userId);
    if (!membership) throw new NotFoundError('Poll');
    return { poll, membership };
  }

  private async load(actor: Actor, poll: PollRow): Promise<{ message: MessageView; poll: PollView }> {
    const message = (await this.messages.repo.viewById(poll.message_id, actor.userId)) as MessageView;
    return { message, poll: await this.view(actor, poll) };
  }

  async view(actor: Actor, poll: PollRow): Promise<PollView> {
    const [counts, votes] = await Promise.all([this.repo.optionCounts(poll.id), this.repo.votes(poll.id)]);
    const voters = new Map<string, string[]>();
    for (const v of votes) voters.set(v.option_id, [...(voters.get(v.option_id) ?? []), v.user_id]);
    return {
      id: poll.id,
      message_id: poll.message_id,
      conversation_id: poll.conversation_id,
      created_by: poll.created_by,
      question: poll.question,
      multiple_choice: poll.multiple_choice,
      anonymous: poll.anonymous,
      expires_at: poll.expires_at ? poll.expires_at.toISOString() : null,
      closed_at: poll.closed_at ? poll.closed_at.toISOString() : null,
      closed: isClosed(poll),
      total_voters: new Set(votes.map((v) => v.user_id)).size,
      options: counts.map((o) => ({
        id: o.id,
        text: o.text,
        position: o.position,
        count: o.count,
        ...(poll.anonymous ? {} : { voters: voters.get(o.id) ?? [] }),
      })),
      my_option_ids: votes.filter((v) => v.user_id === actor.userId).map((v) => v.option_id),
      created_at: poll.created_at.toISOString(),
    };
  }
}
