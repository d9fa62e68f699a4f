// The route table: first match wins. Add a screen by adding a RouteDef here (or, for
// HQ screens, in web/src/hq/index.ts).
import type { RouteDef } from './core/router';
import { can } from './core/session';
import { hqRoutes } from './hq';
import { LoginPage } from './inbox/login';
import { InboxPage, useNewTaskCount } from './inbox/inbox';
import { TransferPage } from './inbox/transfer';
import { CreatePage } from './inbox/create';
import { ImportPage } from './inbox/import';

export const routes: RouteDef[] = [
  { path: '/login', component: LoginPage, public: true },
  { path: '/', component: InboxPage, nav: 'nav.inbox', useBadge: useNewTaskCount },
  { path: '/transfers/:id', component: TransferPage },
  { path: '/create', component: CreatePage, nav: 'nav.create', allow: (s) => can(s, 'createTransfer') },
  { path: '/import', component: ImportPage, nav: 'nav.import', allow: (s) => can(s, 'import') },
  // ---- HQ screens (web/src/hq/index.ts) ----
  ...hqRoutes,
];
