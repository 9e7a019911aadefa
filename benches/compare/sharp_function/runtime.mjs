// Stands in for Lambda's managed Node.js runtime: polls the Runtime API named in
// AWS_LAMBDA_RUNTIME_API for the next event, calls the handler and posts its answer (or its
// error). Loading the handler module, with its clients and sharp, is the function's init.
const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const { handler } = await import("./index.mjs");

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const requestId = next.headers.get("lambda-runtime-aws-request-id");
  const event = await next.json();
  try {
    const answer = await handler(event);
    await fetch(`${api}/invocation/${requestId}/response`, { method: "POST", body: JSON.stringify(answer) });
  } catch (error) {
    const body = JSON.stringify({ errorType: error.name, errorMessage: String(error.message) });
    await fetch(`${api}/invocation/${requestId}/error`, { method: "POST", body });
  }
}
