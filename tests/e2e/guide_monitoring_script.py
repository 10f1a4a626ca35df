#!/usr/bin/env python3
import asyncio
import aiohttp
import logging

async def check_sync_status():
    """Check synchronization status across all nodes."""
    
    nodes = {
        "central": "https://central-server:8443/api/health",
        "windows": "https://windows-pc:8443/api/health",
        "macbook": "https://macbook.local:8443/api/health"
    }
    
    async with aiohttp.ClientSession() as session:
        for name, url in nodes.items():
            try:
                async with session.get(url, ssl=False) as response:
                    data = await response.json()
                    print(f"{name}: {data['memory_count']} memories, "
                          f"last modified: {data.get('last_modified', 'unknown')}")
            except Exception as e:
                print(f"{name}: ERROR - {str(e)}")

if __name__ == "__main__":
    asyncio.run(check_sync_status())
