// The page side of `npm run bench -- --only web`: the same training steps in onnxruntime-web.
import { setEngine, webEngine } from '../src/core/index.js';
import { medianMs, webTasks } from './web-tasks.js';

const out = document.getElementById('out')!;
(async () => {
  const engine = await webEngine({ wasmPaths: new URL('./', location.href).href });
  setEngine(engine);
  const results: Record<string, number> = {};
  for (const t of webTasks()) results[t.name] = await medianMs(t);
  (window as unknown as { benchResult: unknown }).benchResult = { engine: engine.name, crossOriginIsolated, results };
  out.textContent = JSON.stringify(results);
})().catch((e: Error) => {
  (window as unknown as { benchResult: unknown }).benchResult = { error: e.message };
});
