// oidc-provider's own in-memory storage, under a name of our own: the provider warns on every start
// when its default adapter is used, and for a one-machine dev IdP that storage is exactly right
// (grants and opaque tokens live as long as the process). Subclassing keeps the storage shared by
// every Provider in the process, which the test IdP relies on when it swaps keys.
import type { AdapterConstructor } from 'oidc-provider';
// @ts-expect-error: oidc-provider ships no types for its adapter module.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

export const DevMemoryAdapter: AdapterConstructor = class DevMemoryAdapter extends (MemoryAdapter as AdapterConstructor) {};
