// The dashboard's pure browser modules (no DOM needed): problems at their path, CSV.
import { test } from 'tap'
import { splitProblems } from '../../ui/lib/problems.js'
import { toCsv } from '../../ui/lib/csv.js'

test('validation problems split at their paths', async (t) => {
  t.same(splitProblems('The configuration is invalid: providers[0].baseUrl: must not contain a query (?); models[1].deployments[0].provider: unknown provider "x"'), [
    { path: 'providers[0].baseUrl', message: 'must not contain a query (?)' },
    { path: 'models[1].deployments[0].provider', message: 'unknown provider "x"' },
  ])
  t.same(splitProblems('The configuration is invalid: (root): YAML syntax: bad indentation'), [{ path: '(root)', message: 'YAML syntax: bad indentation' }])
  t.same(splitProblems('stored model "a".deployments[0].provider: unknown; routing.strategy: expected one of "model", "cost"'), [
    { path: 'stored model "a".deployments[0].provider', message: 'unknown' },
    { path: 'routing.strategy', message: 'expected one of "model", "cost"' },
  ])
  t.same(splitProblems('models[0].name: bad; see the docs; really'), [{ path: 'models[0].name', message: 'bad; see the docs; really' }], 'a "; " inside a message stays with it')
  t.same(splitProblems('Something else went wrong.'), [{ path: null, message: 'Something else went wrong.' }])
})

test('CSV: quoting, formulas defused', async (t) => {
  const csv = toCsv([{ label: 'Key', value: (r: { k: string }) => r.k }, { label: 'Cost (USD)', value: (r: { c: number }) => r.c }], [
    { k: 'team "a", west', c: 0.5 },
    { k: '=HYPERLINK("x")', c: -1 },
    { k: 'line\nbreak', c: 0 },
  ] as never[])
  t.equal(csv, 'Key,Cost (USD)\r\n"team ""a"", west",0.5\r\n"\'=HYPERLINK(""x"")",-1\r\n"line\nbreak",0\r\n')
})
