// Request and response schemas of /auth/*.
import { type Static, Type } from 'typebox';
import { SelfView } from '../modules/users/users.schemas.js';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from './passwords.js';

const Password = Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX });
const Email = Type.String({ format: 'email', maxLength: 254 });

export const RegisterBody = Type.Object(
  {
    username: Type.String({ pattern: USERNAME_PATTERN, minLength: 3, maxLength: 32 }),
    password: Password,
    email: Type.Optional(Email),
    display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    invite_code: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'REGISTRATION=invite' }),
    ),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);

export const LogoutBody = Type.Union([
  Type.Object(
    { refresh_token: Type.Optional(Type.String({ maxLength: 4096 })) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

export const TokenPair = Type.Object(
  {
    access_token: Type.String(),
    refresh_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires' }),
    user: SelfView,
  },
  { $id: 'TokenPair' },
);
export type TokenPair = Static<typeof TokenPair>;

export const LogoutResult = Type.Object(
  {
    logged_out: Type.Boolean(),
    /** TMS mode: whether TMS confirmed the logout (it is revoked here either way). */
    tms_synced: Type.Optional(Type.Boolean()),
  },
  { $id: 'LogoutResult' },
);
export type LogoutResult = Static<typeof LogoutResult>;

export const AuthConfig = Type.Object(
  {
    mode: Type.Union([Type.Literal('local'), Type.Literal('tms')], {
      description: 'local: register and log in here; tms: TMS signs people in and hands its token over',
    }),
    registration: Type.Union([Type.Literal('open'), Type.Literal('invite'), Type.Literal('closed')], {
      description: 'Local mode: who may create an account (always closed in TMS mode)',
    }),
    tms_login_url: Type.Union([Type.String({ format: 'uri' }), Type.Null()], {
      description:
        'TMS mode: the TMS sign-in page (TMS_LOGIN_URL) a client sends people to with return_to and state; null when unset or in local mode',
    }),
  },
  { $id: 'AuthConfig' },
);
export type AuthConfig = Static<typeof AuthConfig>;
