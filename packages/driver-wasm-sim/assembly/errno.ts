// Linux errno numbers, returned negated. ENOTSUPP is kernel-internal but leaks to user space.
export const EPERM: i32 = 1;
export const ENOENT: i32 = 2;
export const E2BIG: i32 = 7;
export const EBADF: i32 = 9;
export const EAGAIN: i32 = 11;
export const ENOMEM: i32 = 12;
export const EBUSY: i32 = 16;
export const EEXIST: i32 = 17;
export const EINVAL: i32 = 22;
export const ENOSPC: i32 = 28;
export const EOPNOTSUPP: i32 = 95;
export const ENOTSUPP: i32 = 524;
