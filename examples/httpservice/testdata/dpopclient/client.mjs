// A DPoP client made of panva's dpop and jose packages, driven by the
// httpservice example's tests: node client.mjs BASE_URL ALG.
// It logs in with a proof, then sends requests right and wrong, and
// prints one JSON line per request: what it sent and what came back.
import * as DPoP from 'dpop'
import * as jose from 'jose'

const [base, alg] = process.argv.slice(2)

async function send(name, method, path, { scheme, token, proof, body } = {}) {
  const headers = {}
  if (token) headers.authorization = `${scheme} ${token}`
  if (proof) headers.dpop = proof
  if (body) headers['content-type'] = 'application/json'
  const res = await fetch(base + path, { method, headers, body })
  const text = await res.text()
  let json
  try { json = JSON.parse(text) } catch { json = null }
  console.log(JSON.stringify({
    name, sent: { method, path, scheme: scheme ?? null, proof: Boolean(proof) },
    status: res.status, www_authenticate: res.headers.get('www-authenticate'), body: json,
  }))
  return json
}

// staleProof is a proof signed with the client's key whose iat is ten
// minutes old: the dpop package always stamps the current time.
async function staleProof(keypair, htu, htm, token) {
  const jwk = await jose.exportJWK(keypair.publicKey)
  const ath = jose.base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))))
  return new jose.SignJWT({ htm, htu, ath, jti: crypto.randomUUID() })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: alg === 'Ed25519' ? 'Ed25519' : alg, jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } })
    .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
    .sign(keypair.privateKey)
}

const keypair = await DPoP.generateKeyPair(alg, { extractable: true })
const other = await DPoP.generateKeyPair(alg, { extractable: true })
const thumbprint = await DPoP.calculateThumbprint(keypair.publicKey)
console.log(JSON.stringify({ name: 'key', alg, thumbprint }))

const loginProof = await DPoP.generateProof(keypair, base + '/login', 'POST')
const login = async (user, password, proof) => send(`login ${user}`, 'POST', '/login', {
  proof, body: JSON.stringify({ username: user, password }),
})
const alice = (await login('alice', 'wonderland', loginProof)).access_token
const bob = (await login('bob', 'builder', await DPoP.generateProof(keypair, base + '/login', 'POST'))).access_token
const me = base + '/me'
const dpop = (token, proof) => ({ scheme: 'DPoP', token, proof })

await send('me with a proof', 'GET', '/me', dpop(alice, await DPoP.generateProof(keypair, me, 'GET', undefined, alice)))
const used = await DPoP.generateProof(keypair, me, 'GET', undefined, alice)
await send('first use of a proof', 'GET', '/me', dpop(alice, used))
await send('replayed proof', 'GET', '/me', dpop(alice, used))
await send('proof for another URL', 'GET', '/me', dpop(alice, await DPoP.generateProof(keypair, base + '/admin', 'GET', undefined, alice)))
await send('proof for another method', 'GET', '/me', dpop(alice, await DPoP.generateProof(keypair, me, 'POST', undefined, alice)))
await send('stale iat', 'GET', '/me', dpop(alice, await staleProof(keypair, me, 'GET', alice)))
await send('proof by another key', 'GET', '/me', dpop(alice, await DPoP.generateProof(other, me, 'GET', undefined, alice)))
await send('proof without ath', 'GET', '/me', dpop(alice, await DPoP.generateProof(keypair, me, 'GET')))
await send('bearer downgrade', 'GET', '/me', { scheme: 'Bearer', token: alice })
await send('bearer downgrade with a proof', 'GET', '/me', { scheme: 'Bearer', token: alice, proof: await DPoP.generateProof(keypair, me, 'GET', undefined, alice) })
await send('admin without the scope', 'GET', '/admin', dpop(alice, await DPoP.generateProof(keypair, base + '/admin', 'GET', undefined, alice)))
await send('admin with the scope', 'GET', '/admin', dpop(bob, await DPoP.generateProof(keypair, base + '/admin', 'GET', undefined, bob)))
await login('alice', 'wonderland', loginProof) // replayed
