// The JS `@anthropic-ai/sdk` against mockopper: Messages (raw and the MessageStream helper), tools,
// structured output, count_tokens, the models list, errors and extras.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import { z } from 'zod';

import { useMockopper } from './mockopper.mjs';
import { SCENARIO, TEXT, WEATHER } from './scenario.mjs';

const mock = useMockopper({ before, after, afterEach }, 'anthropic');
let client;

beforeEach(async () => {
  await mock.load(SCENARIO);
  client = new Anthropic({ baseURL: mock.baseURL, defaultHeaders: mock.headers, apiKey: 'test-key', maxRetries: 0 });
});

const MODEL = 'anthropic/claude-sonnet-4-6';
const user = (content) => [{ role: 'user', content }];
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

test('messages: plain text, stop reason, usage and model', async () => {
  const message = await client.messages.create({ model: MODEL, max_tokens: 256, messages: user('hello') });
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.deepEqual(message.content, [{ type: 'text', text: TEXT.hello }]);
  assert.equal(message.stop_reason, 'end_turn');
  assert.equal(message.model, MODEL);
  assert.ok(message.id.startsWith('msg_'));
  assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0);
  const [record] = await mock.requests();
  assert.equal(record.path, '/v3/compat/v1/messages');
  assert.equal(record.request_headers.authorization, 'Bearer [redacted]', 'the SDK sends the key as a bearer token');
});

test('messages: the raw stream yields the typed events in order', async () => {
  const stream = await client.messages.create({
    model: MODEL,
    max_tokens: 256,
    messages: user('tell me a story'),
    stream: true,
  });
  const types = [];
  let text = '';
  let stop;
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    if (event.type === 'message_delta') stop = event.delta.stop_reason;
  }
  assert.equal(text, TEXT.story);
  assert.equal(stop, 'end_turn');
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.ok(types.filter((t) => t === 'content_block_delta').length > 5);
});

test('messages: the MessageStream helper (text events, final message)', async () => {
  const deltas = [];
  const stream = client.messages
    .stream({ model: MODEL, max_tokens: 256, messages: user('tell me a story') })
    .on('text', (delta) => deltas.push(delta));
  const final = await stream.finalMessage();
  assert.equal(deltas.join(''), TEXT.story);
  assert.equal(await stream.finalText(), TEXT.story);
  assert.equal(final.stop_reason, 'end_turn');
  assert.ok(final.usage.output_tokens > 0);
  const [record] = await mock.requests();
  assert.equal(record.request_headers['x-stainless-helper-method'], 'stream');
});

test('messages: a thinking block through the MessageStream helper', async () => {
  const thoughts = [];
  const stream = client.messages
    .stream({
      model: MODEL,
      max_tokens: 2048,
      messages: user('think'),
      thinking: { type: 'enabled', budget_tokens: 1024 },
    })
    .on('thinking', (delta) => thoughts.push(delta));
  const final = await stream.finalMessage();
  assert.equal(thoughts.join(''), 'Six times seven is forty-two.');
  assert.deepEqual(
    final.content.map((b) => b.type),
    ['thinking', 'text'],
  );
  assert.ok(final.content[0].signature);
  assert.equal(final.content[1].text, 'The answer is 42.');
});

test('messages: the MessageStream helper assembles a streamed tool_use block', async () => {
  const json = [];
  const stream = client.messages
    .stream({ model: MODEL, max_tokens: 256, messages: user(WEATHER), tools: [WEATHER_TOOL] })
    .on('inputJson', (partial) => json.push(partial));
  const final = await stream.finalMessage();
  const block = final.content.find((b) => b.type === 'tool_use');
  assert.equal(final.stop_reason, 'tool_use');
  assert.equal(block.name, 'get_weather');
  assert.deepEqual(block.input, { city: 'Paris' });
  assert.ok(block.id.startsWith('toolu_'));
  assert.deepEqual(JSON.parse(json.join('')), { city: 'Paris' }, 'the input_json_delta fragments concatenate');
});

test('messages: a tool call, then the answer to its result', async () => {
  const messages = user(WEATHER);
  const first = await client.messages.create({ model: MODEL, max_tokens: 256, messages, tools: [WEATHER_TOOL] });
  const call = first.content.find((b) => b.type === 'tool_use');
  assert.equal(first.stop_reason, 'tool_use');
  assert.deepEqual(call.input, { city: 'Paris' });

  messages.push(
    { role: 'assistant', content: first.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'windy' }] },
  );
  const second = await client.messages.create({ model: MODEL, max_tokens: 256, messages, tools: [WEATHER_TOOL] });
  assert.deepEqual(second.content, [{ type: 'text', text: 'It is windy in Paris.' }]);
});

// The beta toolRunner keeps the conversation in a server-held message thread by default: the
// first turn creates it, the next continue it with only the new messages and no system or tools.
for (const [name, options] of [
  ['threads by default (create, then continue with only the tool result)', {}],
  ['threads a streamed loop too', { stream: true }],
  ['with thread: false sends the whole history each turn', { thread: false }],
]) {
  test(`beta toolRunner ${name}`, async () => {
    const cities = [];
    const runner = client.beta.messages.toolRunner({
      model: MODEL,
      max_tokens: 256,
      system: 'Be brief.',
      messages: user(WEATHER),
      tools: [
        betaZodTool({
          name: 'get_weather',
          description: 'Current weather for a city',
          inputSchema: z.object({ city: z.string() }),
          run: async ({ city }) => {
            cities.push(city);
            return 'foggy';
          },
        }),
      ],
      ...options,
    });
    const ids = [];
    for await (const item of runner) ids.push(options.stream ? (await item.finalMessage()).id : item.id);
    const final = await runner.runUntilDone();
    assert.deepEqual(final.content, [{ type: 'text', text: 'It is foggy in Paris.' }]);
    assert.deepEqual(cities, ['Paris']);

    const [first, second, ...more] = await mock.requests();
    assert.equal(more.length, 0);
    assert.deepEqual([first.status, second.status], [200, 200]);
    assert.deepEqual([first.rule, second.rule], ['weather', 'after weather']);
    assert.equal(first.request_body.system, 'Be brief.');
    if (options.thread === false) {
      assert.equal(first.request_body.thread, undefined);
      assert.equal(second.request_body.thread, undefined);
      assert.equal(second.request_body.system, 'Be brief.');
      assert.deepEqual(
        second.request_body.messages.map((m) => m.role),
        ['user', 'assistant', 'user'],
      );
    } else {
      assert.deepEqual(first.request_body.thread, { type: 'create' });
      assert.deepEqual(second.request_body.thread, { type: 'continue', previous_message_id: ids[0] });
      assert.equal(second.request_body.system, undefined);
      assert.equal(second.request_body.tools, undefined);
      assert.deepEqual(
        second.request_body.messages.map((m) => m.content[0].type),
        ['tool_result'],
      );
      assert.match(second.request_headers['anthropic-beta'], /message-threads-2026-08-12/);
    }
  });
}

test('messages: structured output through parse() and zodOutputFormat', async () => {
  const Person = z.object({ name: z.string(), age: z.number().int(), languages: z.array(z.string()) });
  const message = await client.messages.parse({
    model: MODEL,
    max_tokens: 256,
    messages: user('Who wrote the first program?'),
    output_config: { format: zodOutputFormat(Person) },
  });
  assert.deepEqual(message.parsed_output, TEXT.person);
  const [record] = await mock.requests();
  assert.equal(record.rule, 'structured');
});

test('messages: a scripted 403 raises PermissionDeniedError with the scripted message', async () => {
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 64, messages: user('forbidden') }),
    (error) => {
      assert.ok(error instanceof Anthropic.PermissionDeniedError, error.constructor.name);
      assert.equal(error.status, 403);
      assert.equal(error.error.error.message, 'You shall not pass');
      assert.equal(error.error.error.type, 'permission_error');
      assert.ok(error.message.startsWith('403 '), error.message);
      assert.ok(error.requestID?.startsWith('req_'), `request id: ${error.requestID}`);
      return true;
    },
  );
});

test("messages: the SDK's own retries get through a scripted 429", async () => {
  const retrying = new Anthropic({ baseURL: mock.baseURL, defaultHeaders: mock.headers, apiKey: 'test-key', maxRetries: 2 });
  const message = await retrying.messages.create({ model: MODEL, max_tokens: 64, messages: user('slow down') });
  assert.deepEqual(message.content, [{ type: 'text', text: 'Made it through.' }]);
  assert.deepEqual(
    (await mock.requests()).map((r) => r.status),
    [429, 200],
  );
});

test('messages: an error inside the stream rejects the MessageStream helper with the message', async () => {
  const stream = client.messages.stream({ model: MODEL, max_tokens: 64, messages: user('broken') });
  const deltas = [];
  stream.on('text', (delta) => deltas.push(delta));
  await assert.rejects(stream.finalMessage(), (error) => {
    assert.ok(error instanceof Anthropic.APIError, error.constructor.name);
    assert.match(error.message, new RegExp(TEXT.broken));
    return true;
  });
  assert.equal(deltas.join(''), 'one two');
});

test('messages: a dropped connection and a stream without message_stop reject the MessageStream helper', async () => {
  const dropped = client.messages.stream({ model: MODEL, max_tokens: 64, messages: user('drop') });
  await assert.rejects(dropped.finalMessage(), (error) => {
    assert.ok(error instanceof Anthropic.AnthropicError, error.constructor.name);
    assert.match(error.message, /terminated/);
    return true;
  });
  const truncated = client.messages.stream({ model: MODEL, max_tokens: 64, messages: user('truncate') });
  await assert.rejects(truncated.finalMessage(), /stream ended without producing a Message with role=assistant/);
});

test('messages: Opper extras as unknown params keys reach the server, and fallback answers', async () => {
  const message = await client.messages.create({
    model: 'openai/gpt-dead',
    max_tokens: 64,
    messages: user('echo this'),
    fallback_models: ['anthropic/claude-sonnet-4-6'],
    tags: { team: 'search' },
  });
  assert.equal(message.model, 'anthropic/claude-sonnet-4-6');
  assert.equal(message.content[0].text, 'echo this from anthropic/claude-sonnet-4-6 for team search');
  const [record] = await mock.requests();
  assert.deepEqual(record.tags, { team: 'search' });
  assert.deepEqual(record.fallback_models, ['anthropic/claude-sonnet-4-6']);
  assert.deepEqual(
    record.attempts.map((a) => a.model),
    ['openai/gpt-dead', 'anthropic/claude-sonnet-4-6'],
  );
});

test('count_tokens and the models list', async () => {
  const count = await client.messages.countTokens({ model: MODEL, messages: user('hello there, how are you?') });
  assert.ok(count.input_tokens > 0);
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.includes(MODEL), ids.join(', '));
  assert.equal((await mock.requests()).length, 2, 'one page: has_more is false');
});
