// Type declarations of the React binding (gatehouse-react.js).
import type { ReactNode, ReactElement } from "react";
import type { AuthSnapshot, Gatehouse } from "./gatehouse.js";

export declare function GatehouseProvider(props: { client: Gatehouse; children?: ReactNode }): ReactElement;

export type UseAuth = AuthSnapshot &
  Pick<
    Gatehouse,
    | "login"
    | "handleRedirect"
    | "getAccessToken"
    | "refresh"
    | "logout"
    | "switchOrganization"
    | "switchTenant"
    | "fetchUserInfo"
  > & { client: Gatehouse };

export declare function useAuth(client?: Gatehouse): UseAuth;
