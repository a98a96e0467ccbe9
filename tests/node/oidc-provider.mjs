// A real OpenID provider for the tests (the oidc-provider package), on loopback only.
//
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS (comma-separated), POST_LOGOUT_URIS,
// ACCOUNTS_FILE (JSON {"login": {"groups": [...], "email": ..., "given_name": ...}}, read at every
// sign-in so that a test can change a person's groups between two sign-ins).
// Interactions are the package's development forms (login: any password); consent is granted to the
// one first-party client. Prints "listening <issuer>" once it accepts connections.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

// CLOCK_OFFSET_SECONDS (tests of expired tokens): the provider's clock runs behind, so that the ID
// tokens it signs are genuinely expired when they arrive (ID_TOKEN_TTL: their lifetime, seconds).
const offsetMs = Number(process.env.CLOCK_OFFSET_SECONDS || 0) * 1000;
if (offsetMs) {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
}
const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "test-signing-key", alg: "RS256", use: "sig" };

function accounts() {
  return JSON.parse(readFileSync(process.env.ACCOUNTS_FILE, "utf8"));
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: process.env.REDIRECT_URIS.split(","),
      post_logout_redirect_uris: (process.env.POST_LOGOUT_URIS || "").split(",").filter(Boolean),
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  jwks: { keys: [jwk] },
  ttl: { IdToken: Number(process.env.ID_TOKEN_TTL || 3600) },
  cookies: { keys: ["sequester-tests-only"] },
  claims: {
    openid: ["sub"],
    profile: ["preferred_username", "given_name", "family_name"],
    email: ["email"],
    groups: ["groups"],
  },
  conformIdTokenClaims: false, // the scopes' claims go in the ID token (Sequester reads no userinfo)
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const person = accounts()[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, ...person };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile email groups");
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

const server = provider.listen(port, "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
