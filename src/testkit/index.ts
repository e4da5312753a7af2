export * from './keys';
export * from './produce';
