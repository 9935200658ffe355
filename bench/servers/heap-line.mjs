// Preloaded into a chat node process by bench:soak (`node --import <this file> …`): one JSON line on stdout
// every CHATLAB_HEAP_LINE_MS (default 10 s) with the process's heap and RSS, so they can be read per node
// from its log. Plain JavaScript: it is loaded before tsx.
import { getHeapStatistics } from 'node:v8';

const everyMs = Number(process.env.CHATLAB_HEAP_LINE_MS ?? 10_000);
setInterval(() => {
  const rss = process.memoryUsage.rss();
  process.stdout.write(`${JSON.stringify({ heapLine: true, pid: process.pid, at: Date.now(), heapMB: +(getHeapStatistics().used_heap_size / 1048576).toFixed(2), rssMB: +(rss / 1048576).toFixed(2) })}\n`);
}, everyMs).unref();
