// In-memory data behind the demo orders API. Seeded per owner so that ownership policies
// (alice may read alice's orders) have something to decide on from the first request.

export const ORDER_STATUSES = ['pending', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface Order {
  id: string;
  owner: string;
  item: string;
  quantity: number;
  status: OrderStatus;
  createdAt: string;
}

export interface OrderStore {
  list(): Order[];
  get(id: string): Order | undefined;
  create(owner: string, item: string, quantity: number): Order;
  delete(id: string): boolean;
}

export const DEMO_OWNERS = ['alice', 'bob', 'carol'] as const;

const SEED: ReadonlyArray<Omit<Order, 'id'>> = [
  { owner: 'alice', item: 'Mechanical keyboard', quantity: 1, status: 'delivered', createdAt: '2025-01-06T09:12:00.000Z' },
  { owner: 'alice', item: 'USB-C cable', quantity: 3, status: 'pending', createdAt: '2025-02-14T16:40:00.000Z' },
  { owner: 'bob', item: 'Standing desk', quantity: 1, status: 'shipped', createdAt: '2025-01-21T11:05:00.000Z' },
  { owner: 'bob', item: 'Monitor arm', quantity: 2, status: 'pending', createdAt: '2025-03-02T08:30:00.000Z' },
  { owner: 'carol', item: 'Noise-cancelling headphones', quantity: 1, status: 'delivered', createdAt: '2025-01-30T13:45:00.000Z' },
  { owner: 'carol', item: 'Notebook', quantity: 5, status: 'cancelled', createdAt: '2025-02-27T10:00:00.000Z' },
];

/** A fresh store with the seed orders; ids are stable (ord_1001...) so tests can name them. */
export function createOrderStore(): OrderStore {
  const orders = new Map<string, Order>();
  let nextId = 1001;
  const add = (order: Omit<Order, 'id'>): Order => {
    const created: Order = { id: `ord_${nextId++}`, ...order };
    orders.set(created.id, created);
    return created;
  };
  for (const order of SEED) add(order);

  return {
    list: () => [...orders.values()].map((o) => ({ ...o })),
    get: (id) => {
      const order = orders.get(id);
      return order === undefined ? undefined : { ...order };
    },
    create: (owner, item, quantity) =>
      ({ ...add({ owner, item, quantity, status: 'pending', createdAt: new Date().toISOString() }) }),
    delete: (id) => orders.delete(id),
  };
}
