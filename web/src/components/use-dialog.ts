// Modal dialogs: keyboard focus stays inside while open (Tab and Shift+Tab wrap), Escape closes, and focus goes
// back to the control that opened the dialog when it closes.
import { useEffect, useRef, useState } from 'preact/hooks';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), ' +
  'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (el) => !el.closest('[inert]') && el.getClientRects().length > 0,
  );
}

/** The dialog on top: the last modal in the page (an incoming call can open over a dialog). */
const onTop = (root: HTMLElement) => [...document.querySelectorAll('[aria-modal="true"]')].pop() === root;

/**
 * Put `ref` on the dialog element (with aria-modal="true"). Focus moves into it on open unless something inside
 * already took it (an input focusing itself; `focus: 'dialog'` focuses the dialog itself, so a keystroke meant
 * for the page cannot press a button in a dialog that opened by itself), and returns to the opener when the dialog unmounts. The keys are
 * heard on the document, so a click on the backdrop cannot let Tab out.
 */
export function useDialog<T extends HTMLElement>(onClose: () => void, focus: 'first' | 'dialog' = 'first') {
  const ref = useRef<T>(null);
  // Read during the first render: before any effect moves focus into the dialog.
  const [opener] = useState(() => document.activeElement as HTMLElement | null);
  const close = useRef(onClose);
  close.current = onClose;

  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    if (!root.contains(document.activeElement))
      (focus === 'first' ? (focusables(root)[0] ?? root) : root).focus();
    const onKeyDown = (e: KeyboardEvent) => {
      if (!onTop(root)) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        close.current();
        return;
      }
      if (e.key !== 'Tab') return;
      const items = focusables(root);
      const first = items[0];
      const last = items[items.length - 1];
      const active = document.activeElement;
      const inside = root.contains(active);
      if (!first || !last) {
        e.preventDefault();
      } else if (e.shiftKey && (active === first || !inside)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (active === last || !inside)) {
        e.preventDefault();
        first.focus();
      }
    };
    document.addEventListener('keydown', onKeyDown, true);
    return () => {
      document.removeEventListener('keydown', onKeyDown, true);
      // After the dialog has left the page (the opener may re-render meanwhile), unless another dialog is open.
      setTimeout(() => {
        if (opener?.isConnected && !document.querySelector('[aria-modal="true"]')) opener.focus();
      });
    };
  }, [opener, focus]);

  return ref;
}
