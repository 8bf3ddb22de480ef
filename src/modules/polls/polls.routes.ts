// Poll endpoints: create in a conversation, read, vote (replace), retract, close.
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { Envelope, errors, ok } from '../../http/envelope.js';
import { actorOf } from '../../identity/actor.js';
import { CreatedPoll, CreatePollBody, PollView, VoteBody } from './polls.schemas.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
type IdParams = Static<typeof IdParams>;
const One = Envelope(PollView);

export async function pollsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { polls } = ctx.services;

  app.post<{ Params: IdParams; Body: CreatePollBody }>(
    '/conversations/:id/polls',
    {
      schema: {
        tags: ['polls'],
        operationId: 'createPoll',
        summary:
          'Create a poll (a `poll` message with 2-12 options); a retry with the same client_id returns it',
        description:
          'Answers 201 with the poll message and the poll; a retry with the same client_id answers 200 with the original. Members get new_message in real time.',
        params: IdParams,
        body: CreatePollBody,
        response: {
          200: Envelope(CreatedPoll),
          201: Envelope(CreatedPoll),
          ...errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const { message, poll, created } = await polls.create(
        actorOf(request),
        request.params.id,
        request.body,
      );
      return reply.status(created ? 201 : 200).send(ok({ message, poll }));
    },
  );

  app.get<{ Params: IdParams }>(
    '/polls/:id',
    {
      schema: {
        tags: ['polls'],
        operationId: 'getPoll',
        summary: 'A poll with counts, your choice, and (unless anonymous) who voted for what',
        description:
          'Counts per option, total voters and my_option_ids; voters per option unless the poll is anonymous.',
        params: IdParams,
        response: { 200: One, ...errors(400, 401, 404) },
      },
    },
    async (request) => ok(await polls.get(actorOf(request), request.params.id)),
  );

  app.post<{ Params: IdParams; Body: VoteBody }>(
    '/polls/:id/votes',
    {
      schema: {
        tags: ['polls'],
        operationId: 'votePoll',
        summary: 'Vote: replaces your previous choice (one option unless multiple choice); 409 poll_closed',
        description:
          "option_ids replaces the caller's votes; several options only in a multiple-choice poll. A closed or expired poll answers 409 poll_closed.",
        params: IdParams,
        body: VoteBody,
        response: { 200: One, ...errors(400, 401, 404, 409, 422) },
      },
    },
    async (request) => ok(await polls.vote(actorOf(request), request.params.id, request.body.option_ids)),
  );

  app.delete<{ Params: IdParams }>(
    '/polls/:id/votes',
    {
      schema: {
        tags: ['polls'],
        operationId: 'retractVote',
        summary: 'Take your vote back (idempotent); 409 poll_closed',
        description: 'Removes every vote of the caller in this poll.',
        params: IdParams,
        response: { 200: One, ...errors(400, 401, 404, 409) },
      },
    },
    async (request) => ok(await polls.retract(actorOf(request), request.params.id)),
  );

  app.post<{ Params: IdParams }>(
    '/polls/:id/close',
    {
      schema: {
        tags: ['polls'],
        operationId: 'closePoll',
        summary: 'Close the poll (its creator or a group admin); idempotent',
        description: 'After closing, votes are refused with 409 poll_closed; closing again changes nothing.',
        params: IdParams,
        response: { 200: One, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ok(await polls.close(actorOf(request), request.params.id)),
  );
}
