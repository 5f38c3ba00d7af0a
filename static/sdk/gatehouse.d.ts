// Type declarations of the Gatehouse browser SDK (gatehouse.js). See README.md.

/** An OAuth/OIDC error: `code` is the RFC 6749 error code or an SDK code. */
export declare class GatehouseError extends Error {
  constructor(code: string, description?: string, details?: Record<string, unknown>);
  readonly code: string;
  readonly description: string;
  readonly status?: number;
}

/** Where tokens (and sign-in transactions) are kept; sync or async. */
export interface StorageAdapter {
  get(key: string): string | null | Promise<string | null>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

export declare function memoryStorage(): StorageAdapter;
export declare function webStorage(store?: Storage, prefix?: string): StorageAdapter;

/** Claims of a JWT, unverified. */
export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** A Gatehouse access token's claims (DESIGN §4). */
export interface AccessTokenClaims extends JwtClaims {
  client_id: string;
  scope: string;
  tenant_id: string;
  org_id?: string;
  roles: string[];
  sid?: string;
}

/** An ID token's claims (the signed-in user). */
export interface IdTokenClaims extends JwtClaims {
  name?: string;
  email?: string;
  email_verified?: boolean;
  tenant_id: string;
  org_id?: string;
  amr?: string[];
}

export declare function decodeJwt(token: string): JwtClaims;

export interface TenantConfig {
  issuer: string;
  clientId?: string;
  tenantId?: string;
  name?: string;
  /** This tenant's API identifiers to ask access to at sign-in (else `resources`). */
  resources?: string[];
}

export interface GatehouseOptions {
  tenants?: Record<string, string | TenantConfig>;
  issuer?: string;
  issuers?: string[];
  clientId?: string;
  redirectUri: string;
  postLogoutRedirectUri?: string;
  /** Default `"openid profile email"`. */
  scope?: string;
  /** RFC 8707 resource identifiers (your APIs) that sign-in asks access to. */
  resources?: string[];
  storage?: StorageAdapter;
  transactionStorage?: StorageAdapter;
  /** Seconds before expiry at which getAccessToken() refreshes (default 60). */
  refreshSkew?: number;
  fetch?: typeof fetch;
  navigate?: (url: string) => void;
}

export interface LoginOptions {
  tenant?: string;
  organization?: string;
  prompt?: string;
  loginHint?: string;
  scope?: string;
  /** Overrides the `resources` option for this sign-in. */
  resources?: string[];
  returnTo?: string;
  extraParams?: Record<string, string>;
}

export interface AccessTokenOptions {
  tenant?: string;
  minValidity?: number;
  /** An API's identifier: a token whose `aud` is that API (one token kept per API). */
  resource?: string;
}

export interface RedirectResult {
  tenant?: string;
  user?: IdTokenClaims | null;
  returnTo?: string | null;
  loggedOut?: boolean;
}

export interface AuthSnapshot {
  readonly isAuthenticated: boolean;
  readonly tenant: string | null;
  readonly tenants: string[];
  readonly user: IdTokenClaims | null;
  readonly claims: AccessTokenClaims | null;
}

export interface Gatehouse {
  readonly ready: Promise<void>;
  readonly tenant: string | null;
  readonly tenants: string[];
  readonly isAuthenticated: boolean;
  readonly user: IdTokenClaims | null;
  readonly claims: AccessTokenClaims | null;
  readonly resources: string[];
  subscribe(listener: () => void): () => void;
  getSnapshot(): AuthSnapshot;
  resolveTenant(ref?: string | null): string;
  metadata(tenant?: string): Promise<Record<string, unknown>>;
  login(options?: LoginOptions): Promise<string>;
  handleRedirect(url?: string, options?: { cleanUrl?: boolean }): Promise<RedirectResult | null>;
  getAccessToken(options?: AccessTokenOptions): Promise<string>;
  refresh(options?: { tenant?: string; organization?: string; resource?: string }): Promise<AccessTokenClaims>;
  switchOrganization(orgId: string, options?: { tenant?: string }): Promise<AccessTokenClaims>;
  switchTenant(
    tenantIdOrSlug: string,
    options?: { organization?: string; login?: boolean },
  ): Promise<{ tenant: string; claims?: AccessTokenClaims; redirected?: boolean }>;
  fetchUserInfo(options?: { tenant?: string }): Promise<Record<string, unknown>>;
  logout(options?: { tenant?: string; postLogoutRedirectUri?: string; redirect?: boolean }): Promise<string | null>;
}

export declare function createGatehouse(options: GatehouseOptions): Gatehouse;
export default createGatehouse;
