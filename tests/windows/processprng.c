/* Test harness only, never shipped: Rust's std asks bcryptprimitives.dll for ProcessPrng
 * (Windows 10+), which wine 8.0 does not have. This stand-in, put beside inject.exe under
 * wine, answers from advapi32's RtlGenRandom (SystemFunction036), which wine does have. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
