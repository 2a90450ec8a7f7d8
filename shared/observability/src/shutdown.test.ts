import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ShutdownManager } from './shutdown.ts';

const logger = pino({ level: 'silent' });

describe('ShutdownManager', () => {
  it('runs steps in reverse registration order and exits 0', async () => {
    const order: string[] = [];
    const codes: number[] = [];
    const manager = new ShutdownManager({ logger, timeoutMs: 1_000, exit: (c) => codes.push(c) });
    manager.register('close clients', () => void order.push('clients'));
    manager.register('stop intake', async () => void order.push('intake'));
    const signals = new EventEmitter();
    manager.listen(signals);
    signals.emit('SIGTERM');
    await manager.shutdown();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['intake', 'clients']);
    expect(codes).toEqual([0]);
  });

  it('forces exit 1 on a second signal', () => {
    const codes: number[] = [];
    const manager = new ShutdownManager({ logger, timeoutMs: 1_000, exit: (c) => codes.push(c) });
    manager.register('hang', () => new Promise(() => {}));
    const signals = new EventEmitter();
    manager.listen(signals);
    signals.emit('SIGTERM');
    signals.emit('SIGINT');
    expect(codes).toEqual([1]);
  });

  it('exits 1 when the deadline passes', async () => {
    const manager = new ShutdownManager({ logger, timeoutMs: 20, exit: () => {} });
    manager.register('hang', () => new Promise(() => {}));
    expect(await manager.shutdown()).toBe(1);
  });

  it('reports a failing step with code 1 but still runs the others', async () => {
    const ran: string[] = [];
    const manager = new ShutdownManager({ logger, timeoutMs: 1_000, exit: () => {} });
    manager.register('second', () => void ran.push('second'));
    manager.register('first', () => {
      throw new Error('boom');
    });
    expect(await manager.shutdown()).toBe(1);
    expect(ran).toEqual(['second']);
  });
});
