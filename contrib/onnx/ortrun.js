// ortrun.js - one forward pass of an ONNX model through ONNX Runtime
// (npm onnxruntime-node, CPU provider, one thread), for comparing
// featkit's output with ONNX Runtime's on the same input.
//
//   NODE_PATH=DIR/node_modules node ortrun.js MODEL.onnx IN.f32 OUT.f32
//
// IN.f32 is raw little-endian float32, whole images of the model's
// input shape (the batch is its size over one image's); the first
// output is written to OUT.f32 the same way.
const fs = require('fs');
const ort = require('onnxruntime-node');

(async () => {
	const [model, inPath, outPath] = process.argv.slice(2);
	if (!outPath)
		throw new Error('usage: ortrun.js MODEL.onnx IN.f32 OUT.f32');
	const s = await ort.InferenceSession.create(model, {
		intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
	});
	const meta = s.inputMetadata ? s.inputMetadata[0] : null;
	const shape = meta && meta.shape ? meta.shape.map(Number) : null;
	const buf = fs.readFileSync(inPath);
	if (!shape || shape.slice(1).some(isNaN))
		throw new Error('cannot read the input shape of ' + model);
	const per = shape.slice(1).reduce((a, b) => a * b, 1);
	if (buf.length % (4 * per))
		throw new Error(inPath + ': not whole images of ' + shape.slice(1).join('x'));
	shape[0] = buf.length / (4 * per);
	const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
	const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, shape) });
	const y = r[s.outputNames[0]].data;
	fs.writeFileSync(outPath, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
})().catch((e) => { console.error('ortrun: ' + e.message); process.exit(1); });
