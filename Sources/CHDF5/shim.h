#pragma once
#include <hdf5.h>

/* HDF5 exposes its property-list classes, native types and access flags as macros that
   call H5open() or cast; Swift cannot import those, so each gets an inline accessor. */

static inline hid_t timbre_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t timbre_H5S_ALL(void) { return H5S_ALL; }
static inline hsize_t timbre_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline size_t timbre_H5T_VARIABLE(void) { return H5T_VARIABLE; }

static inline unsigned timbre_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned timbre_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned timbre_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned timbre_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }

static inline hid_t timbre_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t timbre_H5P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
static inline hid_t timbre_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t timbre_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }

static inline hid_t timbre_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t timbre_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t timbre_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t timbre_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t timbre_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t timbre_H5T_C_S1(void) { return H5T_C_S1; }
