// The JS `@google/genai` SDK against mockopper: generateContent and its stream, function calls,
// structured output, embeddings, countTokens, errors, extras, and the Interactions API.

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';

import { ApiError, FunctionCallingConfigMode, GoogleGenAI, Type } from '@google/genai';

import { useMockopper } from './mockopper.mjs';
import { cosine, SCENARIO, TEXT, WEATHER } from './scenario.mjs';

const mock = useMockopper({ before, after, afterEach }, 'google');
let ai;

beforeEach(async () => {
  await mock.load(SCENARIO);
  ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: mock.baseURL, headers: mock.headers } });
});

const MODEL = 'gemini-2.5-flash';
const WEATHER_DECLARATION = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ['city'] },
};
const PERSON_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer' },
    languages: { type: 'array', items: { type: 'string' } },
  },
  required: ['name', 'age', 'languages'],
};

test('generateContent: plain text, finish reason and usage', async () => {
  const response = await ai.models.generateContent({ model: MODEL, contents: 'hello' });
  assert.equal(response.text, TEXT.hello);
  assert.equal(response.candidates[0].finishReason, 'STOP');
  const { promptTokenCount, candidatesTokenCount, totalTokenCount } = response.usageMetadata;
  assert.ok(promptTokenCount > 0 && candidatesTokenCount > 0);
  assert.equal(totalTokenCount, promptTokenCount + candidatesTokenCount);
  const [record] = await mock.requests();
  assert.equal(record.path, `/v3/compat/v1beta/models/${MODEL}:generateContent`);
  assert.equal(record.model, MODEL);
});

test('generateContent: a system instruction and a multi-turn history', async () => {
  const response = await ai.models.generateContent({
    model: MODEL,
    contents: [
      { role: 'user', parts: [{ text: 'hi' }] },
      { role: 'model', parts: [{ text: 'Hi!' }] },
      { role: 'user', parts: [{ text: 'echo me' }] },
    ],
    config: { systemInstruction: 'Be brief.' },
  });
  assert.equal(response.text, `echo me from ${MODEL} for team none`);
});

test('generateContentStream: the chunks concatenate to the text; usage comes last', async () => {
  const stream = await ai.models.generateContentStream({ model: MODEL, contents: 'tell me a story' });
  const pieces = [];
  let last;
  for await (const chunk of stream) {
    pieces.push(chunk.text ?? '');
    last = chunk;
  }
  assert.equal(pieces.join(''), TEXT.story);
  assert.ok(pieces.length > 5);
  assert.equal(last.candidates[0].finishReason, 'STOP');
  assert.ok(last.usageMetadata.candidatesTokenCount > 0);
  const [record] = await mock.requests();
  assert.equal(record.query.alt, 'sse');
});

test('generateContent: a function call, then the answer to its response', async () => {
  const tools = [{ functionDeclarations: [WEATHER_DECLARATION] }];
  const contents = [{ role: 'user', parts: [{ text: WEATHER }] }];
  const first = await ai.models.generateContent({
    model: MODEL,
    contents,
    config: { tools, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.AUTO } } },
  });
  assert.equal(first.functionCalls.length, 1);
  assert.equal(first.functionCalls[0].name, 'get_weather');
  assert.deepEqual(first.functionCalls[0].args, { city: 'Paris' });

  contents.push(first.candidates[0].content, {
    role: 'user',
    parts: [{ functionResponse: { name: 'get_weather', response: { result: 'snowing' } } }],
  });
  const second = await ai.models.generateContent({ model: MODEL, contents, config: { tools } });
  assert.equal(second.text, 'It is snowing in Paris.');
  assert.deepEqual(
    (await mock.requests()).map((r) => r.rule),
    ['weather', 'after weather'],
  );
});

test('generateContentStream: a function call arrives whole', async () => {
  const stream = await ai.models.generateContentStream({
    model: MODEL,
    contents: WEATHER,
    config: { tools: [{ functionDeclarations: [WEATHER_DECLARATION] }] },
  });
  const calls = [];
  for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
  assert.equal(calls.length, 1);
  assert.deepEqual([calls[0].name, calls[0].args], ['get_weather', { city: 'Paris' }]);
});

test('generateContent: structured output with responseJsonSchema', async () => {
  const response = await ai.models.generateContent({
    model: MODEL,
    contents: 'Who wrote the first program?',
    config: { responseMimeType: 'application/json', responseJsonSchema: PERSON_SCHEMA },
  });
  assert.deepEqual(JSON.parse(response.text), TEXT.person);
  const [record] = await mock.requests();
  assert.equal(record.rule, 'structured');
});

test('embedContent: batchEmbedContents gives unit vectors, one per input', async () => {
  const response = await ai.models.embedContent({
    model: 'gemini-embedding-001',
    contents: ['cats chase mice', 'cats chase birds', 'stock market report'],
    config: { outputDimensionality: 128 },
  });
  const [a, b, c] = response.embeddings.map((e) => e.values);
  assert.deepEqual(
    response.embeddings.map((e) => e.values.length),
    [128, 128, 128],
  );
  assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-6);
  assert.ok(cosine(a, b) > cosine(a, c));
  const [record] = await mock.requests();
  assert.equal(record.path, '/v3/compat/v1beta/models/gemini-embedding-001:batchEmbedContents');
});

test('countTokens', async () => {
  const response = await ai.models.countTokens({ model: MODEL, contents: 'hello there, how are you?' });
  assert.ok(response.totalTokens > 0);
});

test('a scripted 403 raises ApiError carrying the status and the scripted message', async () => {
  await assert.rejects(ai.models.generateContent({ model: MODEL, contents: 'forbidden' }), (error) => {
    assert.ok(error instanceof ApiError, error.constructor.name);
    assert.equal(error.status, 403);
    const body = JSON.parse(error.message);
    assert.deepEqual(
      [body.error.code, body.error.message, body.error.status],
      [403, 'You shall not pass', 'PERMISSION_DENIED'],
    );
    return true;
  });
});

test('a scripted 429 is not retried by models.*: ApiError at once', async () => {
  await assert.rejects(ai.models.generateContent({ model: MODEL, contents: 'slow down' }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 429);
    assert.equal(JSON.parse(error.message).error.message, `Too many requests for ${MODEL}`);
    return true;
  });
  assert.equal((await mock.requests()).length, 1);
});

test('an error inside the stream raises ApiError after the first pieces', async () => {
  const stream = await ai.models.generateContentStream({ model: MODEL, contents: 'broken' });
  const pieces = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) pieces.push(chunk.text ?? '');
    })(),
    (error) => {
      assert.ok(error instanceof ApiError, error.constructor.name);
      assert.equal(error.status, 500);
      assert.match(error.message, new RegExp(TEXT.broken));
      return true;
    },
  );
  assert.equal(pieces.join(''), 'one two');
});

test('extras: httpOptions.extraBody on the client and per call reach the server', async () => {
  const withExtras = new GoogleGenAI({
    apiKey: 'test-key',
    httpOptions: { baseUrl: mock.baseURL, headers: mock.headers, extraBody: { tags: { team: 'search' } } },
  });
  const response = await withExtras.models.generateContent({
    model: 'openai/gpt-dead',
    contents: 'echo this',
    config: { httpOptions: { extraBody: { fallback_models: ['gemini/gemini-2.5-flash'] } } },
  });
  assert.equal(response.text, 'echo this from gemini/gemini-2.5-flash for team search');
  assert.equal(response.modelVersion, 'gemini/gemini-2.5-flash');
  const [record] = await mock.requests();
  assert.deepEqual(record.tags, { team: 'search' });
  assert.deepEqual(record.fallback_models, ['gemini/gemini-2.5-flash']);
  assert.equal(record.path, '/v3/compat/v1beta/models/openai/gpt-dead:generateContent');
});

test('interactions: plain text and output_text', async () => {
  const interaction = await ai.interactions.create({ model: MODEL, input: 'hello' });
  assert.equal(interaction.status, 'completed');
  assert.equal(interaction.output_text, TEXT.hello);
  assert.equal(interaction.steps[0].type, 'model_output');
  assert.ok(interaction.usage.total_output_tokens > 0);
  const [record] = await mock.requests();
  assert.equal(record.path, '/v3/compat/v1beta/interactions');
});

test('interactions: a stream of typed events', async () => {
  const stream = await ai.interactions.create({ model: MODEL, input: 'tell me a story', stream: true });
  const kinds = [];
  let text = '';
  let completed;
  for await (const event of stream) {
    kinds.push(event.event_type);
    if (event.event_type === 'step.delta' && event.delta.type === 'text') text += event.delta.text;
    if (event.event_type === 'interaction.completed') completed = event.interaction;
  }
  assert.equal(text, TEXT.story);
  assert.equal(kinds[0], 'interaction.created');
  assert.equal(kinds.at(-1), 'interaction.completed');
  assert.equal(completed.status, 'completed');
  assert.ok(completed.usage.total_output_tokens > 0);
});

test('interactions: a function call, then the answer to its result', async () => {
  const tools = [
    { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  ];
  const first = await ai.interactions.create({ model: MODEL, input: WEATHER, tools });
  const [call] = first.steps;
  assert.equal(first.status, 'requires_action');
  assert.deepEqual([call.type, call.name, call.arguments], ['function_call', 'get_weather', { city: 'Paris' }]);

  const second = await ai.interactions.create({
    model: MODEL,
    previous_interaction_id: first.id,
    input: [{ type: 'function_result', call_id: call.id, name: 'get_weather', result: 'hazy' }],
    tools,
  });
  assert.equal(second.output_text, 'It is hazy in Paris.');
});

test('interactions: a scripted 403 raises PermissionDeniedError; extras in the params reach the server', async () => {
  await assert.rejects(
    ai.interactions.create({ model: MODEL, input: 'forbidden', tags: { team: 'search' } }),
    (error) => {
      assert.equal(error.constructor.name, 'PermissionDeniedError');
      assert.equal(error.status, 403);
      assert.match(error.message, /^403 .*You shall not pass/);
      return true;
    },
  );
  const reply = await ai.interactions.create({
    model: 'openai/gpt-dead',
    input: 'echo this',
    fallback_models: ['gemini/gemini-2.5-flash'],
    tags: { team: 'search' },
  });
  assert.equal(reply.output_text, 'echo this from gemini/gemini-2.5-flash for team search');
  const journal = await mock.requests();
  assert.equal(journal.length, 2, 'a 403 is not retried');
  assert.deepEqual(journal[1].fallback_models, ['gemini/gemini-2.5-flash']);
});

test("interactions: the client's own retries get through a scripted 429", async () => {
  const interaction = await ai.interactions.create({ model: MODEL, input: 'slow down' });
  assert.equal(interaction.output_text, 'Made it through.');
  assert.deepEqual(
    (await mock.requests()).map((r) => r.status),
    [429, 200],
  );
});
