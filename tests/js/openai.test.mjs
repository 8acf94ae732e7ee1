// The JS `openai` SDK against mockopper: Chat Completions, Responses and Embeddings.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';

import OpenAI from 'openai';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import { useMockopper } from './mockopper.mjs';
import { cosine, SCENARIO, TEXT, WEATHER } from './scenario.mjs';

const mock = useMockopper({ before, after, afterEach }, 'openai');
let client;

beforeEach(async () => {
  await mock.load(SCENARIO);
  client = new OpenAI({ baseURL: mock.baseURL, defaultHeaders: mock.headers, apiKey: 'test-key', maxRetries: 0 });
});

const MODEL = 'openai/gpt-5.5';
const user = (content) => [{ role: 'user', content }];
const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const Person = z.object({ name: z.string(), age: z.number().int(), languages: z.array(z.string()) });

test('chat: plain text, finish reason, usage and model', async () => {
  const reply = await client.chat.completions.create({ model: MODEL, messages: user('hello') });
  assert.equal(reply.choices[0].message.content, TEXT.hello);
  assert.equal(reply.choices[0].message.role, 'assistant');
  assert.equal(reply.choices[0].finish_reason, 'stop');
  assert.equal(reply.model, MODEL);
  assert.ok(reply.id.startsWith('chatcmpl-'));
  const { prompt_tokens, completion_tokens, total_tokens } = reply.usage;
  assert.ok(prompt_tokens > 0 && completion_tokens > 0);
  assert.equal(total_tokens, prompt_tokens + completion_tokens);
});

test('chat: raw stream concatenates to the text, word by word', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: user('tell me a story'),
    stream: true,
    stream_options: { include_usage: true },
  });
  const pieces = [];
  let finish;
  let usage;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    for (const choice of chunk.choices) {
      if (choice.delta.content) pieces.push(choice.delta.content);
      finish = choice.finish_reason ?? finish;
    }
    usage = chunk.usage ?? usage;
  }
  assert.equal(pieces.join(''), TEXT.story);
  assert.ok(pieces.length > 5, `expected a word-by-word stream, got ${pieces.length} pieces`);
  assert.equal(finish, 'stop');
  assert.ok(usage.completion_tokens > 0);
});

test('chat: the ChatCompletionStream helper (content events, final completion with usage)', async () => {
  const deltas = [];
  const stream = client.chat.completions
    .stream({ model: MODEL, messages: user('tell me a story'), stream_options: { include_usage: true } })
    .on('content', (delta) => deltas.push(delta));
  const final = await stream.finalChatCompletion();
  assert.equal(deltas.join(''), TEXT.story);
  assert.equal(final.choices[0].message.content, TEXT.story);
  assert.equal(final.choices[0].message.role, 'assistant');
  assert.equal(final.choices[0].finish_reason, 'stop');
  assert.equal(final.model, MODEL);
  assert.ok(final.usage?.total_tokens > 0, 'the helper copies usage only from a chunk that has an id');
});

test('chat: the ChatCompletionStream helper assembles a streamed tool call', async () => {
  const stream = client.chat.completions.stream({ model: MODEL, messages: user(WEATHER), tools: [WEATHER_TOOL] });
  const final = await stream.finalChatCompletion();
  const [call] = final.choices[0].message.tool_calls;
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  assert.ok(call.id);
});

test('chat: a tool call, then the answer to its result', async () => {
  const messages = user(WEATHER);
  const first = await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER_TOOL] });
  const message = first.choices[0].message;
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(message.tool_calls.length, 1);
  assert.equal(message.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(message.tool_calls[0].function.arguments), { city: 'Paris' });

  messages.push(message, { role: 'tool', tool_call_id: message.tool_calls[0].id, content: 'sunny' });
  const second = await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER_TOOL] });
  assert.equal(second.choices[0].message.content, 'It is sunny in Paris.');
  assert.deepEqual(
    (await mock.requests()).map((r) => r.rule),
    ['weather', 'after weather'],
  );
});

test('chat: runTools drives the agent loop to the final answer', async () => {
  const cities = [];
  const runner = client.chat.completions.runTools({
    model: MODEL,
    messages: user(WEATHER),
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: WEATHER_TOOL.function.parameters,
          parse: JSON.parse,
          function: ({ city }) => {
            cities.push(city);
            return 'rainy';
          },
        },
      },
    ],
  });
  assert.equal(await runner.finalContent(), 'It is rainy in Paris.');
  assert.deepEqual(cities, ['Paris']);
});

test('chat: structured output through parse() and zodResponseFormat', async () => {
  const reply = await client.chat.completions.parse({
    model: MODEL,
    messages: user('Who wrote the first program?'),
    response_format: zodResponseFormat(Person, 'person'),
  });
  assert.deepEqual(reply.choices[0].message.parsed, TEXT.person);
  const [record] = await mock.requests();
  assert.equal(record.rule, 'structured');
  assert.equal(record.request_body.response_format.type, 'json_schema');
});

test('chat: a scripted 403 raises PermissionDeniedError with the scripted message', async () => {
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: user('forbidden') }), (error) => {
    assert.ok(error instanceof OpenAI.PermissionDeniedError, error.constructor.name);
    assert.equal(error.status, 403);
    assert.equal(error.message, '403 You shall not pass');
    assert.equal(error.error.message, 'You shall not pass');
    return true;
  });
  assert.equal((await mock.requests()).length, 1, 'a 403 is not retried');
});

test("chat: the SDK's own retries get through a scripted 429", async () => {
  const retrying = new OpenAI({ baseURL: mock.baseURL, defaultHeaders: mock.headers, apiKey: 'test-key', maxRetries: 2 });
  const reply = await retrying.chat.completions.create({ model: MODEL, messages: user('slow down') });
  assert.equal(reply.choices[0].message.content, 'Made it through.');
  const journal = await mock.requests();
  assert.deepEqual(
    journal.map((r) => r.status),
    [429, 200],
  );
  assert.equal(journal[1].request_headers['x-stainless-retry-count'], '1');
});

test('chat: a 429 without retries raises RateLimitError with the scripted message', async () => {
  await assert.rejects(client.chat.completions.create({ model: MODEL, messages: user('slow down') }), (error) => {
    assert.ok(error instanceof OpenAI.RateLimitError, error.constructor.name);
    assert.equal(error.message, `429 Too many requests for ${MODEL}`);
    assert.equal(error.headers.get('retry-after-ms'), '10');
    return true;
  });
});

test('chat: an error inside the stream raises APIError after the first pieces', async () => {
  const stream = await client.chat.completions.create({ model: MODEL, messages: user('broken'), stream: true });
  const pieces = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta?.content ?? '');
    })(),
    (error) => {
      assert.ok(error instanceof OpenAI.APIError, error.constructor.name);
      assert.equal(error.message, TEXT.broken);
      return true;
    },
  );
  assert.equal(pieces.join(''), 'one two');
});

test('chat: a dropped connection rejects the ChatCompletionStream helper; a truncated stream too', async () => {
  const deltas = [];
  const dropped = client.chat.completions
    .stream({ model: MODEL, messages: user('drop') })
    .on('content', (delta) => deltas.push(delta));
  await assert.rejects(dropped.finalChatCompletion(), (error) => {
    assert.ok(error instanceof OpenAI.OpenAIError, error.constructor.name);
    assert.match(error.message, /terminated/);
    return true;
  });
  assert.equal(deltas.join(''), 'one two');
  const truncated = client.chat.completions.stream({ model: MODEL, messages: user('truncate') });
  await assert.rejects(truncated.finalChatCompletion(), /missing finish_reason for choice 0/);
});

test('chat: Opper extras as unknown params keys reach the server, and fallback answers', async () => {
  const reply = await client.chat.completions
    .create(
      {
        model: 'openai/gpt-dead',
        messages: user('echo this'),
        fallback_models: ['anthropic/claude-sonnet-4-6'],
        tags: { team: 'search' },
        span_uuid: '0b9e4b0e-2c5a-4d6f-9c1e-7f3a2b1c0d4e',
      },
      { headers: { 'x-trace': 'abc' } },
    )
    .withResponse();
  assert.equal(reply.data.model, 'anthropic/claude-sonnet-4-6');
  assert.equal(reply.data.choices[0].message.content, 'echo this from anthropic/claude-sonnet-4-6 for team search');
  assert.equal(reply.response.headers.get('x-mockopper-attempts'), 'openai/gpt-dead,anthropic/claude-sonnet-4-6');
  const [record] = await mock.requests();
  assert.deepEqual(record.tags, { team: 'search' });
  assert.deepEqual(record.fallback_models, ['anthropic/claude-sonnet-4-6']);
  assert.equal(record.span_uuid, '0b9e4b0e-2c5a-4d6f-9c1e-7f3a2b1c0d4e');
  assert.equal(record.answered_by, 'anthropic/claude-sonnet-4-6');
  assert.equal(record.request_headers['x-trace'], 'abc');
});

test('chat: Opper cost in X-Opper-Cost and the body, and a trace id, read with withResponse()', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: MODEL, messages: user('hello') })
    .withResponse();
  const header = response.headers.get('x-opper-cost');
  assert.match(header, /^\d+\.\d+$/); // plain decimal, never an exponent
  // openai/gpt-5.5 in the built-in table: $1.25 per million input tokens, $10 per million output tokens.
  const expected = (data.usage.prompt_tokens * 1.25 + data.usage.completion_tokens * 10) / 1e6;
  assert.ok(Math.abs(Number(header) - expected) < 1e-12, `${header} != ${expected}`);
  assert.equal(data.cost, Number(header));
  assert.match(response.headers.get('x-opper-trace-id'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const streamed = await client.chat.completions
    .create({ model: MODEL, messages: user('hello'), stream: true, stream_options: { include_usage: true } })
    .withResponse();
  assert.equal(streamed.response.headers.get('x-opper-cost'), null); // a stream's cost is in its usage
  let usage;
  for await (const chunk of streamed.data) usage = chunk.usage ?? usage;
  assert.equal(usage.cost, Number(header));
});

test('embeddings: the default base64 encoding decodes to the same unit vector as floats', async () => {
  const input = 'The quick brown fox';
  const base64 = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input });
  const floats = await client.embeddings.create({
    model: 'openai/text-embedding-3-small',
    input,
    encoding_format: 'float',
  });
  const decoded = base64.data[0].embedding;
  const reference = floats.data[0].embedding;
  assert.equal(decoded.length, 1536);
  assert.equal(reference.length, 1536);
  assert.ok(decoded.some((x) => x !== 0));
  decoded.forEach((x, i) => assert.ok(Math.abs(x - reference[i]) < 1e-6, `component ${i}: ${x} vs ${reference[i]}`));
  assert.ok(Math.abs(Math.hypot(...decoded) - 1) < 1e-4);
  assert.ok(base64.usage.prompt_tokens > 0);
  const [first] = await mock.requests();
  assert.equal(first.request_body.encoding_format, 'base64', "the SDK's default on the wire");
});

test('embeddings: a batch with dimensions; related texts are closer', async () => {
  const reply = await client.embeddings.create({
    model: 'openai/text-embedding-3-small',
    input: ['cats chase mice', 'cats chase birds', 'stock market report'],
    dimensions: 256,
  });
  const [a, b, c] = reply.data.map((d) => d.embedding);
  assert.deepEqual(
    reply.data.map((d) => [d.index, d.embedding.length]),
    [
      [0, 256],
      [1, 256],
      [2, 256],
    ],
  );
  assert.ok(cosine(a, b) > cosine(a, c));
});

test('responses: plain text and output_text', async () => {
  const response = await client.responses.create({ model: MODEL, input: 'hello', instructions: 'Be brief.' });
  assert.equal(response.object, 'response');
  assert.equal(response.status, 'completed');
  assert.equal(response.output_text, TEXT.hello);
  assert.ok(response.usage.output_tokens > 0);
});

test('responses: the stream helper (text deltas, final response)', async () => {
  const deltas = [];
  const stream = client.responses
    .stream({ model: MODEL, input: 'tell me a story' })
    .on('response.output_text.delta', (event) => deltas.push(event.delta));
  const final = await stream.finalResponse();
  assert.equal(deltas.join(''), TEXT.story);
  assert.equal(final.output_text, TEXT.story);
  assert.equal(final.status, 'completed');
});

test('responses: the stream helper assembles a streamed function call', async () => {
  const tools = [{ type: 'function', name: 'get_weather', parameters: WEATHER_TOOL.function.parameters, strict: true }];
  const fragments = [];
  const stream = client.responses
    .stream({ model: MODEL, input: WEATHER, tools })
    .on('response.function_call_arguments.delta', (event) => fragments.push(event.delta));
  const final = await stream.finalResponse();
  const [call] = final.output;
  assert.equal(call.type, 'function_call');
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
  assert.equal(fragments.join(''), call.arguments);
  assert.ok(fragments.length > 1, 'the arguments stream in pieces');
});

test('responses: a function call, then the answer to its output', async () => {
  const tools = [{ type: 'function', name: 'get_weather', parameters: WEATHER_TOOL.function.parameters, strict: true }];
  const first = await client.responses.create({ model: MODEL, input: WEATHER, tools });
  const call = first.output.find((item) => item.type === 'function_call');
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });

  const second = await client.responses.create({
    model: MODEL,
    previous_response_id: first.id,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: 'cloudy' }],
    tools,
  });
  assert.equal(second.output_text, 'It is cloudy in Paris.');
});

test('responses: structured output through parse() and zodTextFormat', async () => {
  const response = await client.responses.parse({
    model: MODEL,
    input: 'Who wrote the first program?',
    text: { format: zodTextFormat(Person, 'person') },
  });
  assert.deepEqual(response.output_parsed, TEXT.person);
});

test('models: the list shows the scenario fleet', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.includes('openai/gpt-5.5') && ids.includes('gemini/gemini-2.5-flash'), ids.join(', '));
});
