// The Vercel AI SDK (`ai`) against mockopper through its providers: @ai-sdk/openai-compatible,
// @ai-sdk/anthropic, @ai-sdk/google and @ai-sdk/openai (Responses and Chat).

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';

import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import {
  APICallError,
  embed,
  embedMany,
  generateObject,
  generateText,
  RetryError,
  stepCountIs,
  streamText,
  tool,
} from 'ai';
import { z } from 'zod';

import { useMockopper } from './mockopper.mjs';
import { cosine, SCENARIO, TEXT, WEATHER } from './scenario.mjs';

const mock = useMockopper({ before, after, afterEach }, 'vercel');

beforeEach(async () => {
  await mock.load(SCENARIO);
});

const API_KEY = 'test-key';
const opper = () =>
  createOpenAICompatible({
    name: 'opper',
    baseURL: mock.baseURL,
    apiKey: API_KEY,
    headers: mock.headers,
    includeUsage: true,
    supportsStructuredOutputs: true,
  });

// Each provider the way its README says to point it at mockopper, with the model it asks for.
const PROVIDERS = {
  'openai-compatible': () => opper()('openai/gpt-5.5'),
  anthropic: () => createAnthropic({ baseURL: `${mock.baseURL}/v1`, apiKey: API_KEY, headers: mock.headers })('anthropic/claude-sonnet-4-6'),
  google: () => createGoogleGenerativeAI({ baseURL: `${mock.baseURL}/v1beta`, apiKey: API_KEY, headers: mock.headers })('gemini-2.5-flash'),
  'openai responses': () => createOpenAI({ baseURL: mock.baseURL, apiKey: API_KEY, headers: mock.headers })('openai/gpt-5.5'),
  'openai chat': () => createOpenAI({ baseURL: mock.baseURL, apiKey: API_KEY, headers: mock.headers }).chat('openai/gpt-5.5'),
};

const weatherTool = (seen) =>
  tool({
    description: 'Current weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      seen.push(city);
      return 'sunny';
    },
  });
const Person = z.object({ name: z.string(), age: z.number().int(), languages: z.array(z.string()) });

for (const [name, model] of Object.entries(PROVIDERS)) {
  test(`${name}: generateText`, async () => {
    const result = await generateText({ model: model(), prompt: 'hello', maxRetries: 0 });
    assert.equal(result.text, TEXT.hello);
    assert.equal(result.finishReason, 'stop');
    assert.ok(result.usage.inputTokens > 0 && result.usage.outputTokens > 0, JSON.stringify(result.usage));
    assert.equal((await mock.requests())[0].rule, 'hello');
  });

  test(`${name}: streamText`, async () => {
    const result = streamText({ model: model(), prompt: 'tell me a story', maxRetries: 0 });
    const pieces = [];
    for await (const piece of result.textStream) pieces.push(piece);
    assert.equal(pieces.join(''), TEXT.story);
    assert.ok(pieces.length > 5, `expected a word-by-word stream, got ${pieces.length} pieces`);
    assert.equal(await result.finishReason, 'stop');
    assert.ok((await result.usage).outputTokens > 0);
  });

  test(`${name}: a tool loop with generateText`, async () => {
    const seen = [];
    const result = await generateText({
      model: model(),
      prompt: WEATHER,
      tools: { get_weather: weatherTool(seen) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    assert.deepEqual(seen, ['Paris']);
    assert.equal(result.steps.length, 2);
    assert.equal(result.steps[0].finishReason, 'tool-calls');
    assert.deepEqual(
      result.steps[0].toolCalls.map((c) => [c.toolName, c.input]),
      [['get_weather', { city: 'Paris' }]],
    );
    assert.equal(result.text, 'It is sunny in Paris.');
    assert.deepEqual(
      (await mock.requests()).map((r) => r.rule),
      ['weather', 'after weather'],
    );
  });

  test(`${name}: a tool loop with streamText`, async () => {
    const seen = [];
    const result = streamText({
      model: model(),
      prompt: WEATHER,
      tools: { get_weather: weatherTool(seen) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    assert.equal(await result.text, 'It is sunny in Paris.');
    assert.deepEqual(seen, ['Paris']);
    assert.equal((await result.steps).length, 2);
  });

  test(`${name}: generateObject`, async () => {
    const { object } = await generateObject({
      model: model(),
      schema: Person,
      prompt: 'Who wrote the first program?',
      maxRetries: 0,
    });
    assert.deepEqual(object, TEXT.person);
  });

  test(`${name}: a scripted 403 raises APICallError with the scripted message`, async () => {
    await assert.rejects(generateText({ model: model(), prompt: 'forbidden', maxRetries: 0 }), (error) => {
      assert.ok(APICallError.isInstance(error), error.constructor.name);
      assert.equal(error.statusCode, 403);
      assert.equal(error.message, 'You shall not pass');
      assert.equal(error.isRetryable, false);
      return true;
    });
  });

  test(`${name}: an error inside the stream reaches fullStream and onError`, async () => {
    const errors = [];
    const result = streamText({
      model: model(),
      prompt: 'broken',
      maxRetries: 0,
      onError: ({ error }) => errors.push(error),
    });
    let text = '';
    const streamed = [];
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') text += part.text;
      if (part.type === 'error') streamed.push(part.error);
    }
    assert.equal(text, 'one two');
    assert.equal(streamed.length, 1);
    assert.match(String(streamed[0]?.message ?? JSON.stringify(streamed[0])), new RegExp(TEXT.broken));
    assert.equal(errors.length, 1);
  });
}

for (const name of ['anthropic', 'google', 'openai responses']) {
  test(`${name}: scripted reasoning comes back as reasoningText, generated and streamed`, async () => {
    const generated = await generateText({ model: PROVIDERS[name](), prompt: 'think', maxRetries: 0 });
    assert.deepEqual([generated.reasoningText, generated.text], ['Six times seven is forty-two.', 'The answer is 42.']);
    const streamed = streamText({ model: PROVIDERS[name](), prompt: 'think', maxRetries: 0 });
    assert.deepEqual(
      [await streamed.reasoningText, await streamed.text],
      ['Six times seven is forty-two.', 'The answer is 42.'],
    );
  });
}

test("the SDK's own retries get through a scripted 429 (retry-after-ms honoured)", async () => {
  const started = Date.now();
  const result = await generateText({ model: PROVIDERS['openai-compatible'](), prompt: 'slow down' });
  assert.equal(result.text, 'Made it through.');
  assert.ok(Date.now() - started < 1900, 'retried after retry-after-ms, not after the 2 s default backoff');
  assert.deepEqual(
    (await mock.requests()).map((r) => r.status),
    [429, 200],
  );
});

test('a 429 with maxRetries: 0 raises a retryable APICallError; with retries exhausted, RetryError', async () => {
  await assert.rejects(generateText({ model: PROVIDERS.anthropic(), prompt: 'slow down', maxRetries: 0 }), (error) => {
    assert.ok(APICallError.isInstance(error), error.constructor.name);
    assert.equal(error.statusCode, 429);
    assert.equal(error.isRetryable, true);
    assert.equal(error.message, 'Too many requests for anthropic/claude-sonnet-4-6');
    return true;
  });
  await mock.load(`rules: [{reply: {error: {status: 503, message: Down for maintenance, retry_after: 0.01}}}]`);
  await assert.rejects(generateText({ model: PROVIDERS.google(), prompt: 'hi', maxRetries: 1 }), (error) => {
    assert.ok(RetryError.isInstance(error), error.constructor.name);
    assert.equal(error.reason, 'maxRetriesExceeded');
    assert.equal(error.lastError.statusCode, 503);
    assert.equal(error.lastError.message, 'Down for maintenance');
    return true;
  });
  assert.equal((await mock.requests()).length, 2);
});

test('openai-compatible: a truncated stream is an error part; a dropped connection throws APICallError', async () => {
  const errors = [];
  const truncated = streamText({
    model: PROVIDERS['openai-compatible'](),
    prompt: 'truncate',
    maxRetries: 0,
    onError: ({ error }) => errors.push(error),
  });
  let text = '';
  for await (const part of truncated.fullStream) if (part.type === 'text-delta') text += part.text;
  assert.equal(text, 'one two');
  assert.equal(errors.length, 1);
  assert.match(errors[0].message, /Response stream ended without a finish reason/);

  const dropped = streamText({
    model: PROVIDERS['openai-compatible'](),
    prompt: 'drop',
    maxRetries: 0,
    onError: () => {},
  });
  const pieces = [];
  await assert.rejects(
    (async () => {
      for await (const piece of dropped.textStream) pieces.push(piece);
    })(),
    (error) => {
      assert.ok(APICallError.isInstance(error), error.constructor.name);
      assert.equal(error.message, 'Failed to process successful response');
      return true;
    },
  );
  assert.equal(pieces.join(''), 'one two');
});

test('google: a provider-prefixed model id keeps its slash in the path', async () => {
  const model = createGoogleGenerativeAI({ baseURL: `${mock.baseURL}/v1beta`, apiKey: API_KEY, headers: mock.headers })(
    'gemini/gemini-2.5-flash',
  );
  const result = await generateText({ model, prompt: 'echo me', maxRetries: 0 });
  assert.equal(result.text, 'echo me from gemini/gemini-2.5-flash for team none');
  const [record] = await mock.requests();
  assert.equal(record.path, '/v3/compat/v1beta/gemini/gemini-2.5-flash:generateContent');
});

test('openai-compatible: providerOptions.opper extras reach the server (generateText and streamText)', async () => {
  const providerOptions = {
    opper: { fallback_models: ['anthropic/claude-sonnet-4-6'], tags: { team: 'search' }, evaluate: false },
  };
  const plain = await generateText({
    model: opper()('openai/gpt-dead'),
    prompt: 'echo this',
    providerOptions,
    maxRetries: 0,
  });
  assert.equal(plain.text, 'echo this from anthropic/claude-sonnet-4-6 for team search');
  assert.equal(plain.response.modelId, 'anthropic/claude-sonnet-4-6');

  const streamed = streamText({
    model: opper()('openai/gpt-dead'),
    prompt: 'echo that',
    providerOptions,
    maxRetries: 0,
  });
  assert.equal(await streamed.text, 'echo that from anthropic/claude-sonnet-4-6 for team search');

  for (const record of await mock.requests()) {
    assert.deepEqual(record.tags, { team: 'search' });
    assert.deepEqual(record.fallback_models, ['anthropic/claude-sonnet-4-6']);
    assert.equal(record.evaluate, false);
    assert.equal(record.answered_by, 'anthropic/claude-sonnet-4-6');
  }
});

test('embed and embedMany through the openai-compatible, openai and google providers', async () => {
  const models = [
    opper().embeddingModel('openai/text-embedding-3-small'),
    createOpenAI({ baseURL: mock.baseURL, apiKey: API_KEY, headers: mock.headers }).embeddingModel('openai/text-embedding-3-small'),
    createGoogleGenerativeAI({ baseURL: `${mock.baseURL}/v1beta`, apiKey: API_KEY, headers: mock.headers }).embeddingModel(
      'gemini-embedding-001',
    ),
  ];
  for (const model of models) {
    const { embedding } = await embed({ model, value: 'cats chase mice', maxRetries: 0 });
    assert.ok(
      embedding.length > 0 && Math.abs(Math.hypot(...embedding) - 1) < 1e-6,
      `${model.provider}: ${embedding.length}`,
    );
    const { embeddings } = await embedMany({
      model,
      values: ['cats chase mice', 'cats chase birds', 'stock market report'],
      maxRetries: 0,
    });
    assert.equal(embeddings.length, 3);
    assert.deepEqual(embeddings[0], embedding, `${model.provider}: the same text gives the same vector`);
    assert.ok(cosine(embeddings[0], embeddings[1]) > cosine(embeddings[0], embeddings[2]));
  }
  const paths = (await mock.requests()).map((r) => r.path);
  assert.ok(paths.includes('/v3/compat/v1beta/models/gemini-embedding-001:embedContent'), paths.join(', '));
  assert.ok(paths.includes('/v3/compat/embeddings'));
});
