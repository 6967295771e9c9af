import type { Apimw } from '@apimw/core'

/**
 * For the examples: in the `test` environment, when the store holds no key yet, creates one demo
 * key (scopes orders:read orders:write) and prints it once with ready-to-paste curl lines. Never
 * in `live`. Returns the key id, or `undefined` when nothing was created.
 */
export async function printDemoKey(
  apimw: Apimw,
  baseUrl: string,
  log: (line: string) => void = console.log,
): Promise<string | undefined> {
  if (apimw.options.environment !== 'test') return undefined
  if ((await apimw.keys.list()).length > 0) return undefined
  const { record, secret } = await apimw.keys.create({
    name: 'demo',
    scopes: ['orders:read', 'orders:write'],
  })
  const json = (field: string) => `node -pe 'JSON.parse(require("fs").readFileSync(0)).${field}'`
  for (const line of [
    '',
    'Created a demo API key (test environment). The secret is shown once; paste these lines in a shell:',
    '',
    `export APIMW_API_KEY='${record.key}'`,
    `export APIMW_API_SECRET='${secret}'`,
    `TOKENS=$(curl -s -X POST ${baseUrl}/auth/token -u "$APIMW_API_KEY:$APIMW_API_SECRET")`,
    `ACCESS_TOKEN=$(echo "$TOKENS" | ${json('access_token')})`,
    `REFRESH_TOKEN=$(echo "$TOKENS" | ${json('refresh_token')})`,
    `curl -s ${baseUrl}/v1/me -H "Authorization: Bearer $ACCESS_TOKEN"`,
    `curl -s ${baseUrl}/v1/orders -H "Authorization: Bearer $ACCESS_TOKEN"`,
    `curl -s -X POST ${baseUrl}/auth/refresh -H 'Content-Type: application/json' -d "{\\"refresh_token\\":\\"$REFRESH_TOKEN\\"}"`,
    '',
  ]) {
    log(line)
  }
  return record.key
}
