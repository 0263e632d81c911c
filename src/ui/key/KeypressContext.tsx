import { useInput, type Key } from 'ink';
import React, { createContext, useContext, useLayoutEffect, useMemo, useRef } from 'react';

/**
 * The one place that reads raw keypresses. Components subscribe with useKeypress; the handler
 * with the highest priority sees a key first and returning true stops it there. Text fields and
 * overlays (help, contacts, the abort question) sit above the screen, so "q" typed into a reason
 * is a letter, not a request to quit.
 */
export type KeypressHandler = (input: string, key: Key) => boolean | void;

export const PRIORITY = {
  screen: 0,
  prompt: 10,
  textInput: 20,
  overlay: 30,
  global: -10,
} as const;

interface Subscription {
  handler: { current: KeypressHandler };
  priority: number;
  order: number;
}

interface KeypressRegistry {
  subscribe(subscription: Subscription): () => void;
  nextOrder(): number;
}

/** True inside a part of the screen that must not react to keys right now (a panel covers it). */
export const InactiveContext = createContext(false);

/** Whether keys reach this part of the screen (for components with their own input, like ink-select-input). */
export function useKeysActive(): boolean {
  return !useContext(InactiveContext);
}

const KeypressContext = createContext<KeypressRegistry | undefined>(undefined);

export function KeypressProvider({ children, isActive = true }: { children: React.ReactNode; isActive?: boolean }) {
  const subscriptions = useRef<Subscription[]>([]);
  const order = useRef(0);
  const registry = useMemo<KeypressRegistry>(
    () => ({
      subscribe(subscription) {
        subscriptions.current.push(subscription);
        return () => {
          subscriptions.current = subscriptions.current.filter((item) => item !== subscription);
        };
      },
      nextOrder: () => ++order.current,
    }),
    [],
  );
  useInput(
    (input, key) => {
      // Highest priority first; among equals the most recently mounted (the innermost) first.
      const ordered = [...subscriptions.current].sort((a, b) => b.priority - a.priority || b.order - a.order);
      for (const subscription of ordered) {
        if (subscription.handler.current(input, key) === true) return;
      }
    },
    { isActive },
  );
  return <KeypressContext.Provider value={registry}>{children}</KeypressContext.Provider>;
}

export function useKeypress(handler: KeypressHandler, options: { priority?: number; isActive?: boolean } = {}): void {
  const registry = useContext(KeypressContext);
  if (!registry) throw new Error('useKeypress needs a <KeypressProvider> above it');
  const ref = useRef(handler);
  ref.current = handler;
  const inactive = useContext(InactiveContext);
  const { priority = PRIORITY.screen } = options;
  const isActive = (options.isActive ?? true) && !inactive;
  // A layout effect: the subscription changes in the same commit as the screen. React may defer
  // passive effects until the next input, which would hand that key to the previous prompt.
  useLayoutEffect(() => {
    if (!isActive) return undefined;
    return registry.subscribe({ handler: ref, priority, order: registry.nextOrder() });
  }, [registry, priority, isActive]);
}
