import { getPriority } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { VERIFICATION_THREAD_NICE } from '../../src/verification/evaluate-task';

/**
 * A verification thread lowers its own CPU priority when it loads the task module (Linux nice values
 * are per thread), so a thread busy with a hostile bundle never outranks the event loop; the thread
 * that imports the module as the main thread (the inline verifier) keeps its priority.
 */
describe('verification threads yield the CPU to the event loop', () => {
  test('the task module lowers a worker thread by VERIFICATION_THREAD_NICE and leaves the main thread alone', async () => {
    const before = getPriority();
    const file = path.join(__dirname, '../../src/verification/evaluate-task.ts');
    const source = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(file)}); require('node:worker_threads').parentPort.postMessage(require('node:os').getPriority());`;
    const worker = new Worker(source, { eval: true });
    const threadPriority = await new Promise<number>((resolve, reject) => {
      worker.once('message', (value: number) => resolve(value));
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(threadPriority).toBe(Math.min(19, before + VERIFICATION_THREAD_NICE));
    expect(getPriority()).toBe(before);
  });
});
