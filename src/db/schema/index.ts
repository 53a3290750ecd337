export * from './ab-winners';
export * from './automations';
export * from './channels';
export * from './leads';
export * from './messaging';
export * from './sequences';
export * from './webhooks';
export * from './workspaces';
