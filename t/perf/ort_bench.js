// ort_bench.js - the peer of featmodel bench: ONNX Runtime (npm
// onnxruntime-node, CPU execution provider, one intra-op and one inter-op
// thread, all graph optimisations) timing forward passes of an ONNX model
// on synthetic input.  Prints images/s of the median of RUNS timed passes
// after one warm-up (the statistic featmodel bench reports), so the two
// can be compared in the same run.  THREADS
// (default 1) sets the intra-op threads, the peer of featmodel -t.
//
//   node ort_bench.js MODEL.onnx BATCH [RUNS] [THREADS]
const ort = require('onnxruntime-node');

(async () => {
	const [model, batchArg, runsArg, threadsArg] = process.argv.slice(2);
	const batch = parseInt(batchArg || '1'), runs = parseInt(runsArg || '5');
	const threads = parseInt(threadsArg || '1');
	if (!(threads >= 1))
		throw new Error('THREADS must be a positive integer');
	const s = await ort.InferenceSession.create(model, {
		intraOpNumThreads: threads, interOpNumThreads: 1,
		graphOptimizationLevel: 'all', executionMode: 'sequential',
	});
	const name = s.inputNames[0];
	const meta = s.inputMetadata ? s.inputMetadata[0] : null;
	let shape = meta && meta.shape ? meta.shape.map(Number) : null;
	if (!shape || shape.some(isNaN))
		throw new Error('cannot read the input shape of ' + model);
	shape[0] = batch;
	const n = shape.reduce((a, b) => a * b, 1);
	const data = new Float32Array(n);
	let seed = 12345;
	for (let i = 0; i < n; i++) {
		seed = (seed * 1664525 + 1013904223) >>> 0;
		data[i] = (seed >>> 8) / (1 << 24) * 2 - 1;
	}
	const feeds = { [name]: new ort.Tensor('float32', data, shape) };
	await s.run(feeds);
	const ts = [];
	for (let r = 0; r < runs; r++) {
		const t0 = process.hrtime.bigint();
		await s.run(feeds);
		ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
	}
	ts.sort((a, b) => a - b);
	// BEST=1: images/s of the fastest pass (on a shared machine, the
	// statistic least moved by other work)
	if (process.env.BEST === '1') {
		console.log((batch / ts[0]).toFixed(2));
		return;
	}
	const med = ts.length % 2 ? ts[(ts.length - 1) / 2] :
		(ts[ts.length / 2 - 1] + ts[ts.length / 2]) / 2;
	console.log((batch / med).toFixed(2));
})().catch((e) => { console.error('ort_bench: ' + e.message); process.exit(1); });
