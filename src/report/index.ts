export * from './history';
export * from './model';
export * from './html';
