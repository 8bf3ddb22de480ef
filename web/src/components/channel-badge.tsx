// The channel of an external conversation (SMS, MMS, Email) beside its name; nothing for internal ones.
import { store } from '../store.ts';

const LABEL = { sms: 'SMS', mms: 'MMS', email: 'Email' } as const;

export function ChannelBadge({ id }: { id: string }) {
  const info = store.channels.get(id);
  if (!info) return null;
  return (
    <span class={`channel channel-${info.channel}`}>
      <span class="visually-hidden"> via </span>
      {LABEL[info.channel]}
    </span>
  );
}
