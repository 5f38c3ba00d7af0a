/**
 * React binding for the Gatehouse browser SDK: `<GatehouseProvider>` and `useAuth()`.
 *
 * No build step: React comes from the host page's import map, e.g.
 *   <script type="importmap">{"imports": {"react": "/vendor/react.mjs"}}</script>
 *
 *   import { createGatehouse } from "/static/sdk/gatehouse.js";
 *   import { GatehouseProvider, useAuth } from "/static/sdk/gatehouse-react.js";
 *   const auth = createGatehouse({ ... });
 *   root.render(createElement(GatehouseProvider, { client: auth }, createElement(App)));
 *
 *   function App() {
 *     const { isAuthenticated, user, claims, login, switchTenant } = useAuth();
 *     ...
 *   }
 */
import * as React from "react";

const GatehouseContext = React.createContext(null);

/** Makes `client` (from createGatehouse) available to `useAuth()` below it. */
export function GatehouseProvider({ client, children }) {
  return React.createElement(GatehouseContext.Provider, { value: client }, children);
}

const METHODS = [
  "login",
  "handleRedirect",
  "getAccessToken",
  "refresh",
  "logout",
  "switchOrganization",
  "switchTenant",
  "fetchUserInfo",
];

/**
 * The auth state (`isAuthenticated`, `tenant`, `tenants`, `user`, `claims`) and the
 * SDK's calls, bound to the client. Re-renders when tokens or the active tenant change.
 * Pass a client to use one without a provider.
 */
export function useAuth(client) {
  const fromContext = React.useContext(GatehouseContext);
  const auth = client || fromContext;
  if (!auth) throw new Error("useAuth() needs a <GatehouseProvider client={...}> or a client argument");
  const subscribe = React.useCallback((listener) => auth.subscribe(listener), [auth]);
  const getSnapshot = React.useCallback(() => auth.getSnapshot(), [auth]);
  const snapshot = React.useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
  const calls = React.useMemo(() => {
    const bound = { client: auth };
    for (const name of METHODS) bound[name] = auth[name].bind(auth);
    return bound;
  }, [auth]);
  return React.useMemo(() => ({ ...snapshot, ...calls }), [snapshot, calls]);
}
