// The phone layout's way back to the list (hidden on wide screens, where the list stays beside the pane).
import { navigate } from './util.ts';

export function BackButton() {
  return (
    <button type="button" class="back" onClick={() => navigate(null)} aria-label="Back to conversations">
      ←
    </button>
  );
}
