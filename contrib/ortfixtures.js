// ortfixtures.js - ONNX Runtime's outputs for the ONNX importer's
// conformance test (t/t4100-import-onnx.sh): for every NAME.onnx in the
// directory that has an input NAME.in.f32 (written by
// contrib/onnxfixtures.py), run ONNX Runtime (npm onnxruntime-node, CPU
// provider, one thread, no graph optimisation beyond the basic ones) on
// that input and write its outputs, concatenated in the model's output
// order, to NAME.ort.f32 (raw little-endian float32).
//
//   mkdir -p /tmp/ort && cd /tmp/ort &&
//     npm install --ignore-scripts onnxruntime-node@1.30.0
//   NODE_PATH=/tmp/ort/node_modules node contrib/ortfixtures.js t/data/onnx
//
// (--ignore-scripts: the package's install script only fetches GPU
// libraries; the CPU library is inside the package.)
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

(async () => {
	const dir = process.argv[2] || 't/data/onnx';
	for (const f of fs.readdirSync(dir).sort()) {
		if (!f.endsWith('.onnx'))
			continue;
		const name = f.slice(0, -5), inp = path.join(dir, name + '.in.f32');
		if (!fs.existsSync(inp))
			continue;
		let s;
		try {
			s = await ort.InferenceSession.create(path.join(dir, f), {
				intraOpNumThreads: 1, interOpNumThreads: 1,
				graphOptimizationLevel: 'basic', logSeverityLevel: 3,
			});
		} catch (e) {
			// ONNX Runtime implements no operator before opset 7 (axis6):
			// those fixtures have the numpy reference only
			if (!/Could not find an implementation for \w+\([1-6]\)/.test(e.message))
				throw e;
			console.log(`${name}: skipped, ONNX Runtime runs no opset before 7`);
			continue;
		}
		const shape = s.inputMetadata[0].shape.map(Number);
		const buf = fs.readFileSync(inp);
		const x = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
		if (x.length !== shape.reduce((a, b) => a * b, 1))
			throw new Error(`${inp}: ${x.length} floats, the model wants ${shape}`);
		const feeds = {};
		feeds[s.inputNames[0]] = new ort.Tensor('float32', Float32Array.from(x), shape);
		const out = await s.run(feeds);
		const parts = s.outputNames.map((o) => Buffer.from(out[o].data.buffer,
			out[o].data.byteOffset, out[o].data.length * 4));
		fs.writeFileSync(path.join(dir, name + '.ort.f32'), Buffer.concat(parts));
		console.log(`${name}: ${s.outputNames.length} output(s), ` +
			`${parts.reduce((a, p) => a + p.length, 0) / 4} floats`);
	}
})().catch((e) => { console.error('ortfixtures: ' + e.message); process.exit(1); });
